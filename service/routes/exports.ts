// Export routes: App Center's device export (swagger Push_ExportDevices / Push_ExportDevicesStatus)
// and pushplane's export jobs (one-off or cron) with their runs and progress.
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { atMost, EXPORT_KINDS, LIMITS, rawEventExportSchema } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { ApiError, parseOr400 } from "../errors.ts";
import { exportUsers, USER_EXPORT_FIELDS } from "../exports/users.ts";
import type { Services } from "../services.ts";

const exportConfig = z.object({ blob_container_sas_uri: z.string() }).strict();
const jobBody = z
  .object({
    kind: z.enum(EXPORT_KINDS),
    options: z.record(z.string(), z.unknown()).optional(),
    schedule: z.string().min(1).optional(),
    blob_container_sas_uri: z.string(),
    prefix: z.string().max(256).regex(/^([A-Za-z0-9._-]+\/)*$/, "must be empty or path segments ending with '/'").optional(),
  })
  .strict();

const retentionBody = z.object({ blob_container_sas_uri: z.string(), retention_days: z.number().int().min(1).max(3650) }).strict();
const containerQuery = z.object({ container: z.string().url() });

const usersByIds = z
  .object({
    app_group_id: z.string().optional(),
    external_ids: z.array(z.string().min(1)),
    fields_to_export: z.array(z.enum(USER_EXPORT_FIELDS)).optional(),
  })
  .strict();
const usersBySegment = z
  .object({
    app_group_id: z.string().optional(),
    segment_id: z.string(),
    callback_endpoint: z.string().optional(),
    fields_to_export: z.array(z.string()).optional(),
    output_format: z.enum(["zip", "gzip"]).optional(),
    // Where the files go: the SAS of a container, where Braze took S3 credentials.
    blob_container_sas_uri: z.string(),
  })
  .strict();

/** Braze's app_group_id, where given, must name the app of the URL (owner/app). */
function checkAppGroup(key: { owner: string; app: string }, appGroupId: string | undefined): void {
  if (appGroupId !== undefined && appGroupId !== `${key.owner}/${key.app}`) {
    throw new ApiError("BadRequest", `app_group_id '${appGroupId}' is not this app ('${key.owner}/${key.app}'); leave it out or match the URL`);
  }
}

export const exportRoutes = ({ exports, retention, store, devices }: Services): FastifyPluginAsync => async (app) => {
  // seeds: Braze export, Users by UserID: at most 50 external ids, answered at once.
  app.post("/users/export/ids", async (request) => {
    const key = scopedApp(request);
    const body = parseOr400(usersByIds, request.body);
    checkAppGroup(key, body.app_group_id);
    if (body.external_ids.length > LIMITS.usersExportExternalIds.value) {
      throw new ApiError("BadRequest", `external_ids ${atMost(LIMITS.usersExportExternalIds, body.external_ids.length)}`);
    }
    const users = exportUsers(store, devices, store.appId(key), `${key.owner}/${key.app}`, body.external_ids, body.fields_to_export);
    const found = new Set(users.map((u) => u.external_id));
    const invalid = body.external_ids.filter((id) => !found.has(id));
    return { message: "success", users, ...(invalid.length > 0 ? { invalid_user_ids: invalid } : {}) };
  });

  // seeds: Braze export, Raw Event Stream Export: a window of at most a week in the last 3 months, one at a time.
  app.post("/raw_data/export", async (request, reply) => {
    const key = scopedApp(request);
    const body = parseOr400(rawEventExportSchema, request.body);
    checkAppGroup(key, body.app_group_id);
    const runId = exports.startRawEventExport(key, body);
    return reply.code(202).send({ success: true, message: "success", export_id: runId });
  });

  // seeds: Braze export, Users by Segment: the segment is an audience; files land in the container.
  app.post("/users/export/segment", async (request, reply) => {
    const key = scopedApp(request);
    const { blob_container_sas_uri: sas, app_group_id: appGroup, ...options } = parseOr400(usersBySegment, request.body);
    checkAppGroup(key, appGroup);
    const { runId, objectPrefix } = exports.startSegmentExport(key, sas, options);
    return reply.code(202).send({ message: "success", object_prefix: objectPrefix, export_id: runId });
  });

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
  // A sweep on demand (after an erasure, before the hourly one); answers the policy with its outcome.
  app.post("/retention_policies/sweep", async (request) => {
    const key = scopedApp(request);
    const { container } = parseOr400(containerQuery, request.query);
    return (await retention.sweepNow(key, container)) ?? Promise.reject(new ApiError("NotFound", `no retention policy for ${container}`));
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
    return reply.code(201).send(exports.createJob(key, { kind: body.kind, options: body.options, schedule: body.schedule, sasUrl: body.blob_container_sas_uri, prefix: body.prefix }));
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
    const job = exports.updateJob(key, jobId(request.params), { kind: body.kind, options: body.options, schedule: body.schedule, sasUrl: body.blob_container_sas_uri, prefix: body.prefix });
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
