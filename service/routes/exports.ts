// Export routes: App Center's device export (swagger Push_ExportDevices / Push_ExportDevicesStatus)
// and pushplane's export jobs (one-off or cron) with their runs and progress.
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { EXPORT_KINDS } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { ApiError, parseOr400 } from "../errors.ts";
import type { Services } from "../services.ts";

const exportConfig = z.object({ blob_container_sas_uri: z.string() }).strict();
const jobBody = z
  .object({
    kind: z.enum(EXPORT_KINDS),
    schedule: z.string().min(1).optional(),
    blob_container_sas_uri: z.string(),
    prefix: z.string().max(256).regex(/^([A-Za-z0-9._-]+\/)*$/, "must be empty or path segments ending with '/'").optional(),
  })
  .strict();

const retentionBody = z.object({ blob_container_sas_uri: z.string(), retention_days: z.number().int().min(1).max(3650) }).strict();
const containerQuery = z.object({ container: z.string().url() });

export const exportRoutes = ({ exports, retention }: Services): FastifyPluginAsync => async (app) => {
  // Retention policies, one per container (named by its URL without the SAS query).
  app.put("/retention_policies", async (request) => {
    const key = scopedApp(request);
    const body = parseOr400(retentionBody, request.body);
    return retention.set(key, body.blob_container_sas_uri, body.retention_days);
  });
  app.get("/retention_policies", async (request) => {
    const key = scopedApp(request);
    const { container } = parseOr400(containerQuery, request.query);
    return retention.get(key, container) ?? Promise.reject(new ApiError("NotFound", `no retention policy for ${container}`));
  });
  app.delete("/retention_policies", async (request, reply) => {
    const key = scopedApp(request);
    const { container } = parseOr400(containerQuery, request.query);
    if (!retention.delete(key, container)) throw new ApiError("NotFound", `no retention policy for ${container}`);
    return reply.code(204).send();
  });

  app.post("/push/device_exports", async (request, reply) => {
    const key = scopedApp(request);
    const { blob_container_sas_uri: sas } = parseOr400(exportConfig, request.body);
    return reply.code(202).send({ export_id: exports.startDeviceExport(key, sas) });
  });

  const run = (request: { params: unknown; apiToken?: unknown }, idField: string) => {
    const key = scopedApp(request as Parameters<typeof scopedApp>[0]);
    const id = (request.params as Record<string, string>)[idField]!;
    const found = exports.getRun(key, id);
    if (!found) throw new ApiError("NotFound", `export '${id}' not found in app '${key.owner}/${key.app}'`);
    return found;
  };
  app.get("/push/device_exports/:export_id", async (request) => run(request, "export_id"));
  app.get("/export_runs/:run_id", async (request) => run(request, "run_id"));

  app.post("/export_jobs", async (request, reply) => {
    const key = scopedApp(request);
    const body = parseOr400(jobBody, request.body);
    return reply.code(201).send(exports.createJob(key, { kind: body.kind, schedule: body.schedule, sasUrl: body.blob_container_sas_uri, prefix: body.prefix }));
  });

  const jobId = (params: unknown) => (params as { job_id: string }).job_id;
  const notFound = (key: { owner: string; app: string }, id: string) => new ApiError("NotFound", `export job '${id}' not found in app '${key.owner}/${key.app}'`);

  app.get("/export_jobs/:job_id", async (request) => {
    const key = scopedApp(request);
    return exports.getJob(key, jobId(request.params)) ?? Promise.reject(notFound(key, jobId(request.params)));
  });

  app.put("/export_jobs/:job_id", async (request) => {
    const key = scopedApp(request);
    const body = parseOr400(jobBody, request.body);
    const job = exports.updateJob(key, jobId(request.params), { kind: body.kind, schedule: body.schedule, sasUrl: body.blob_container_sas_uri, prefix: body.prefix });
    if (!job) throw notFound(key, jobId(request.params));
    return job;
  });

  app.delete("/export_jobs/:job_id", async (request, reply) => {
    const key = scopedApp(request);
    if (!exports.deleteJob(key, jobId(request.params))) throw notFound(key, jobId(request.params));
    return reply.code(204).send();
  });

  app.get("/export_jobs/:job_id/runs", async (request) => {
    const key = scopedApp(request);
    if (!exports.getJob(key, jobId(request.params))) throw notFound(key, jobId(request.params));
    const { $top } = parseOr400(z.object({ $top: z.coerce.number().int().min(1).max(1000).default(30) }), request.query);
    return { values: exports.runs(key, jobId(request.params), $top) };
  });
};
