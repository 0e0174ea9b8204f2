// Export routes (schemas in domain/api.ts): App Center's device export (swagger Push_ExportDevices /
// Push_ExportDevicesStatus), pushplane's export jobs with their runs and progress, the Braze-style
// user, segment and raw event exports, and container retention policies.
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import type { z } from "zod";
import { API, atMost, LIMITS, type AppKey, type ExportJobBody, type RawEventExportRequest, type UserExportField } from "../../domain/index.ts";
import { brazeApp } from "../braze.ts";
import { scopedApp } from "../auth.ts";
import { serve } from "../contract.ts";
import { ApiError } from "../errors.ts";
import type { JobSpec } from "../exports/jobs.ts";
import { exportUsers } from "../exports/users.ts";
import { redactUrl } from "../outbound.ts";
import type { Services } from "../services.ts";

/** Braze's app_group_id, where given, must name the app of the URL (owner/app). */
/** An app route's app (its URL's); a Braze body's app_group_id, when given, must name the same. */
function appOf(request: FastifyRequest, body: { app_group_id?: string | undefined }): AppKey {
  const key = scopedApp(request);
  if (body.app_group_id !== undefined && body.app_group_id !== `${key.owner}/${key.app}`) {
    throw new ApiError("BadRequest", `app_group_id '${body.app_group_id}' is not this app ('${key.owner}/${key.app}'); leave it out or match the URL`);
  }
  return key;
}

const jobSpec = (body: ExportJobBody): JobSpec => ({ kind: body.kind, options: body.options, schedule: body.schedule, sasUrl: body.blob_container_sas_uri, prefix: body.prefix });

export const exportRoutes = ({ exports, retention, repositories, devices, dataSubjectRequests }: Services): FastifyPluginAsync => async (app) => {
  /** A users-by-id job may not name a user an erasure removed: the next `up` would undo the erasure. */
  const checkNotErased = (key: { owner: string; app: string }, body: ExportJobBody) => {
    if (body.kind !== "users_by_id_export") return;
    const ids = (body.options as { external_ids?: unknown } | undefined)?.external_ids;
    if (!Array.isArray(ids)) return;
    const erased = dataSubjectRequests.erasedUserIds(key, ids.filter((id): id is string => typeof id === "string"));
    if (erased.length > 0) {
      throw new ApiError(
        "Conflict",
        `options.external_ids names ${erased.length} user(s) erased by data-subject request ${[...new Set(erased.map((e) => e.requestId))].join(", ")}; remove them from the job (they are not shown here)`,
      );
    }
  };
  // seeds: Braze export, Users by UserID: at most 50 external ids, answered at once.
  // seeds: Braze export, Users by UserID: at most 50 external ids, answered at once.
  const usersByIds = (key: AppKey, body: { external_ids: string[]; fields_to_export?: UserExportField[] | undefined }) => {
    if (body.external_ids.length > LIMITS.usersExportExternalIds.value) {
      throw new ApiError("BadRequest", `external_ids ${atMost(LIMITS.usersExportExternalIds, body.external_ids.length)}`);
    }
    const users = exportUsers(repositories, devices, repositories.apps.id(key), `${key.owner}/${key.app}`, body.external_ids, body.fields_to_export);
    const found = new Set(users.map((u) => u.external_id));
    const invalid = body.external_ids.filter((id) => !found.has(id));
    return { message: "success" as const, users, ...(invalid.length > 0 ? { invalid_user_ids: invalid } : {}) };
  };
  serve(app, API.exportUsersByIds, ({ body, request }) => usersByIds(appOf(request, body), body));
  serve(app, API.brazeExportUsersByIds, ({ body, request }) => usersByIds(brazeApp(request), body));

  // seeds: Braze export, Raw Event Stream Export: a window of at most a week in the last 3 months, one at a time.
  const rawEvents = (key: AppKey, body: RawEventExportRequest) => ({ success: true as const, message: "success" as const, export_id: exports.startRawEventExport(key, body) });
  serve(app, API.exportRawEvents, ({ body, request }) => rawEvents(appOf(request, body), body));
  serve(app, API.brazeExportRawEvents, ({ body: { api_key: _key, ...body }, request }) => rawEvents(brazeApp(request), body));

  // seeds: Braze export, Users by Segment: the segment is an audience; files land in the container.
  const segment = (key: AppKey, { blob_container_sas_uri: sas, app_group_id: _group, ...options }: z.output<(typeof API)["exportSegment"]["body"]>) => {
    const { runId, objectPrefix } = exports.startSegmentExport(key, sas, options);
    return { message: "success" as const, object_prefix: objectPrefix, export_id: runId };
  };
  serve(app, API.exportSegment, ({ body, request }) => segment(appOf(request, body), body));
  serve(app, API.brazeExportSegment, ({ body: { api_key: _key, ...body }, request }) => segment(brazeApp(request), body));

  // Retention policies, one per container (named by its URL without the SAS query).
  const noPolicy = (container: string) => new ApiError("NotFound", `no retention policy for ${redactUrl(container)}`);
  serve(app, API.putRetentionPolicy, ({ body, request }) => retention.set(scopedApp(request), body.blob_container_sas_uri, body.retention_days));
  serve(app, API.getRetentionPolicy, ({ query, request }) => {
    const policy = retention.get(scopedApp(request), query.container);
    if (!policy) throw noPolicy(query.container);
    return policy;
  });
  serve(app, API.deleteRetentionPolicy, ({ query, request }) => {
    if (!retention.delete(scopedApp(request), query.container)) throw noPolicy(query.container);
  });
  // A sweep on demand (after an erasure, before the hourly one); answers the policy with its outcome.
  serve(app, API.sweepRetentionPolicy, async ({ query, request }) => {
    const policy = await retention.sweepNow(scopedApp(request), query.container);
    if (!policy) throw noPolicy(query.container);
    return policy;
  });

  serve(app, API.startDeviceExport, ({ body, request }) => ({ export_id: exports.startDeviceExport(scopedApp(request), body.blob_container_sas_uri) }));

  const run = (request: FastifyRequest, id: string) => {
    const key = scopedApp(request);
    const found = exports.getRun(key, id);
    if (!found) throw new ApiError("NotFound", `export '${id}' not found in app '${key.owner}/${key.app}'`);
    return found;
  };
  serve(app, API.getDeviceExport, ({ params, request }) => run(request, params.export_id));
  serve(app, API.getExportRun, ({ params, request }) => run(request, params.run_id));

  const noJob = (key: { owner: string; app: string }, id: string) => new ApiError("NotFound", `export job '${id}' not found in app '${key.owner}/${key.app}'`);
  serve(app, API.createExportJob, ({ body, request }) => {
    const key = scopedApp(request);
    checkNotErased(key, body);
    return exports.createJob(key, jobSpec(body));
  });
  serve(app, API.getExportJob, ({ params, request }) => {
    const key = scopedApp(request);
    const job = exports.getJob(key, params.job_id);
    if (!job) throw noJob(key, params.job_id);
    return job;
  });
  serve(app, API.updateExportJob, ({ params, body, request }) => {
    const key = scopedApp(request);
    checkNotErased(key, body);
    const job = exports.updateJob(key, params.job_id, jobSpec(body));
    if (!job) throw noJob(key, params.job_id);
    return job;
  });
  serve(app, API.deleteExportJob, ({ params, request }) => {
    const key = scopedApp(request);
    if (!exports.deleteJob(key, params.job_id)) throw noJob(key, params.job_id);
  });
  serve(app, API.listExportJobRuns, ({ params, query, request }) => {
    const key = scopedApp(request);
    if (!exports.getJob(key, params.job_id)) throw noJob(key, params.job_id);
    return { values: exports.runs(key, params.job_id, query.$top) };
  });
};
