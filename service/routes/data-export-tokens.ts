// CloudKit-style data export tokens (seeds: CloudKit broadcast-metrics export; schemas in
// domain/api.ts): create (the value is in that answer only), read (never the value), delete (revoke).
import type { FastifyPluginAsync } from "fastify";
import { API, tokenExpiryProblem } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { serve } from "../contract.ts";
import { ApiError } from "../errors.ts";
import type { Services } from "../services.ts";

export const dataExportTokenRoutes = ({ dataExportTokens }: Services): FastifyPluginAsync => async (app) => {
  serve(app, API.createDataExportToken, ({ body, request }) => {
    const problem = tokenExpiryProblem(body.expires_at);
    if (problem) throw new ApiError("BadRequest", `expires_at ${problem}`);
    return dataExportTokens.create(scopedApp(request), body);
  });

  const notFound = (key: { owner: string; app: string }, id: string) => new ApiError("NotFound", `data export token '${id}' not found in app '${key.owner}/${key.app}'`);
  serve(app, API.getDataExportToken, ({ params, request }) => {
    const key = scopedApp(request);
    const token = dataExportTokens.get(key, params.token_id);
    if (!token) throw notFound(key, params.token_id);
    return token;
  });
  serve(app, API.deleteDataExportToken, ({ params, request }) => {
    const key = scopedApp(request);
    if (!dataExportTokens.revoke(key, params.token_id)) throw notFound(key, params.token_id);
  });
};
