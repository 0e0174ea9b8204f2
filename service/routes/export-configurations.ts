// App Center continuous export configurations (contract: swagger ExportConfigurations_*; schemas in domain/api.ts).
import type { FastifyPluginAsync } from "fastify";
import { API } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { serve } from "../contract.ts";
import { ApiError } from "../errors.ts";
import type { Services } from "../services.ts";

export const exportConfigurationRoutes = ({ continuousExports }: Services): FastifyPluginAsync => async (app) => {
  const notFound = (key: { owner: string; app: string }, configId: string) => new ApiError("NotFound", `export configuration '${configId}' not found in app '${key.owner}/${key.app}'`);

  serve(app, API.createExportConfiguration, ({ body, request }) => continuousExports.create(scopedApp(request), body));
  serve(app, API.listExportConfigurations, ({ request }) => continuousExports.list(scopedApp(request)));
  serve(app, API.getExportConfiguration, ({ params, request }) => {
    const key = scopedApp(request);
    const config = continuousExports.get(key, params.export_configuration_id);
    if (!config) throw notFound(key, params.export_configuration_id);
    return config;
  });
  serve(app, API.updateExportConfiguration, ({ params, body, request }) => {
    const key = scopedApp(request);
    const updated = continuousExports.update(key, params.export_configuration_id, body);
    if (!updated) throw notFound(key, params.export_configuration_id);
    return updated;
  });
  serve(app, API.deleteExportConfiguration, ({ params, request }) => {
    const key = scopedApp(request);
    if (!continuousExports.delete(key, params.export_configuration_id)) throw notFound(key, params.export_configuration_id);
    return {};
  });
  for (const [contract, enabled] of [[API.enableExportConfiguration, true], [API.disableExportConfiguration, false]] as const) {
    serve(app, contract, ({ params, request }) => {
      const key = scopedApp(request);
      if (!continuousExports.setEnabled(key, params.export_configuration_id, enabled)) throw notFound(key, params.export_configuration_id);
      return {};
    });
  }
};
