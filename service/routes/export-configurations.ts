// App Center continuous export configurations (contract: swagger ExportConfigurations_*).
import type { FastifyPluginAsync } from "fastify";
import { exportConfigurationPatchSchema, exportConfigurationSchema } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { ApiError, parseOr400 } from "../errors.ts";
import type { Services } from "../services.ts";

export const exportConfigurationRoutes = ({ continuousExports }: Services): FastifyPluginAsync => async (app) => {
  const id = (params: unknown) => (params as { export_configuration_id: string }).export_configuration_id;
  const notFound = (key: { owner: string; app: string }, configId: string) =>
    new ApiError("NotFound", `export configuration '${configId}' not found in app '${key.owner}/${key.app}'`);

  app.post("/export_configurations", async (request, reply) => {
    const key = scopedApp(request);
    return reply.code(202).send(continuousExports.create(key, parseOr400(exportConfigurationSchema, request.body)));
  });
  app.get("/export_configurations", async (request) => continuousExports.list(scopedApp(request)));
  app.get("/export_configurations/:export_configuration_id", async (request) => {
    const key = scopedApp(request);
    return continuousExports.get(key, id(request.params)) ?? Promise.reject(notFound(key, id(request.params)));
  });
  app.patch("/export_configurations/:export_configuration_id", async (request) => {
    const key = scopedApp(request);
    const updated = continuousExports.update(key, id(request.params), parseOr400(exportConfigurationPatchSchema, request.body));
    if (!updated) throw notFound(key, id(request.params));
    return updated;
  });
  app.delete("/export_configurations/:export_configuration_id", async (request) => {
    const key = scopedApp(request);
    if (!continuousExports.delete(key, id(request.params))) throw notFound(key, id(request.params));
    return {};
  });
  for (const [action, enabled] of [["enable", true], ["disable", false]] as const) {
    app.post(`/export_configurations/:export_configuration_id/${action}`, async (request) => {
      const key = scopedApp(request);
      if (!continuousExports.setEnabled(key, id(request.params), enabled)) throw notFound(key, id(request.params));
      return {};
    });
  }
};
