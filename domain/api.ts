// The service's HTTP contract, route by route: method, path, the App Center operation it implements
// (swagger operationId, where one exists), who may call it, and the zod schemas of its parameters,
// query, body and answers. The service registers its routes from this table (fastify validates
// requests and serializes answers with these schemas, so a field not declared here never leaves the
// service), serves the OpenAPI document generated from it, and the typed client parses answers with
// the same schemas. Written once; everything else derives from it.
import { z } from "zod";
import { audienceDefinitionSchema, audienceListSchema, audienceSchema, audienceTestResultSchema, propertyTypeSchema } from "./audience.ts";
import { broadcastMetricsRequestSchema, BROADCAST_METRICS_STATUSES } from "./broadcast-metrics.ts";
import { CAMPAIGN_PUSH_STATS, digitsParam, endingAtSchema, seriesLengthParam, SERIES_UNITS, textParam } from "./braze-series.ts";
import { dataExportTokenRequestSchema, DATA_EXPORT_DATASETS } from "./data-export-token.ts";
import { DEVICE_PROPERTIES } from "./definition/index.ts";
import { deviceSchema, eventSchema } from "./device.ts";
import { dataSubjectRightEmailSchema, dataSubjectRightResponseSchema, dataSubjectRightStatusSchema } from "./account-dsr.ts";
import { dsrRecheckSchema, dsrRequestSchema, dsrResultSchema, dsrSubjectSchema } from "./dsr.ts";
import { LIMITS } from "./limits.ts";
import { NOTIFICATION_STATES, notificationContentSchema, notificationDefinitionSchema, notificationTargetSchema } from "./notification.ts";
import { pushConfigResultSchema, pushConfigSchema } from "./push-config.ts";
import { EXPORT_ENTITIES, EXPORT_KINDS, exportConfigurationPatchSchema, exportConfigurationSchema, rawEventExportSchema } from "./storage.ts";
import { apiTokenInfoSchema } from "./token-scope.ts";

/**
 * Who may call a route: an API token (X-API-Token), an API token as a Braze client presents its API
 * key (`Authorization: Bearer`, or the legacy `api_key` parameter) with the app named by
 * `app_group_id`, a data export token, a signed URL, or anyone.
 */
export type RouteAuth = "apiToken" | "brazeKey" | "dataExportToken" | "signedUrl" | "none";

export interface RouteContract {
  readonly method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** fastify style (`:param`); the OpenAPI document writes `{param}`. */
  readonly path: string;
  /** The swagger operation this route implements (contract: App Center swagger), if any. */
  readonly operationId?: string;
  readonly summary: string;
  readonly auth: RouteAuth;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  /** Absent for routes whose body is streamed (NDJSON) or that take none. */
  readonly body?: z.ZodType;
  /** Success status → answer schema (`null`: no body). Errors are always `errorBodySchema`. */
  readonly responses: Readonly<Record<number, z.ZodType | null>>;
}

// ---- shared shapes ----

export const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const empty = z.object({});
const appParams = z.object({ owner_name: z.string(), app_name: z.string() });
const withApp = <T extends z.ZodRawShape>(shape: T) => appParams.extend(shape);
const iso = z.string();

export const exportRunSchema = z.object({
  export_id: z.string(),
  job_id: z.string().nullable(),
  kind: z.enum(EXPORT_KINDS),
  status: z.enum(["InProgress", "Completed", "Failed"]),
  started_at: iso,
  finished_at: iso.nullable(),
  rows_written: z.number(),
  total_rows: z.number().nullable(),
  percent: z.number().nullable(),
  blob_name: z.string().nullable(),
  error: z.string().nullable(),
});
export type ExportRunResult = z.infer<typeof exportRunSchema>;

export const exportJobSchema = z.object({
  id: z.string(),
  kind: z.enum(EXPORT_KINDS),
  options: z.record(z.string(), z.unknown()),
  schedule: z.string().nullable(),
  prefix: z.string(),
  /** Where exports go, without the SAS query. */
  container: z.string(),
  next_run_time: iso.nullable(),
  last_run: exportRunSchema.nullable(),
  /** Set when the job's schedule could not be run and was set aside. */
  schedule_error: z.string().nullable(),
});
export type ExportJobResult = z.infer<typeof exportJobSchema>;

export const exportJobBodySchema = z
  .object({
    kind: z.enum(EXPORT_KINDS),
    options: z.record(z.string(), z.unknown()).optional(),
    schedule: z.string().min(1).optional(),
    blob_container_sas_uri: z.string(),
    prefix: z.string().max(256).regex(/^([A-Za-z0-9._-]+\/)*$/, "must be empty or path segments ending with '/'").optional(),
  })
  .strict();
export type ExportJobBody = z.infer<typeof exportJobBodySchema>;

export const retentionPolicySchema = z.object({
  container: z.string(),
  retention_days: z.number(),
  grant_expires_at: iso.nullable(),
  last_sweep_at: iso.nullable(),
  last_sweep_deleted: z.number(),
  last_sweep_error: z.string().nullable(),
});
export type RetentionPolicyResult = z.infer<typeof retentionPolicySchema>;
export const retentionBodySchema = z.object({ blob_container_sas_uri: z.string(), retention_days: z.number().int().min(1).max(3650) }).strict();
const containerQuery = z.object({ container: z.string().url() });

export const dataExportTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  bundle_id: z.string(),
  dataset: z.enum(DATA_EXPORT_DATASETS),
  expires_at: iso,
  created_at: iso,
  /** The value: in the create answer only. */
  token: z.string().optional(),
});
export type DataExportTokenResult = z.infer<typeof dataExportTokenSchema>;

/** swagger ExportConfigurationResult; the connection string is never answered. */
export const exportConfigurationResultSchema = z.object({
  id: z.string(),
  export_type: z.literal("BlobStorage"),
  creation_time: iso,
  last_run_time: iso.optional(),
  export_entities: z.array(z.enum(EXPORT_ENTITIES)),
  state: z.enum(["Enabled", "Disabled", "Pending", "Deleted", "Invalid"]),
  state_info: z.string().optional(),
  resource_group: z.string().optional(),
  resource_name: z.string().optional(),
  export_configuration: z.object({ type: z.string(), export_entities: z.array(z.enum(EXPORT_ENTITIES)) }),
});
export type ExportConfigurationResult = z.infer<typeof exportConfigurationResultSchema>;

export const notificationOverviewSchema = z.object({
  notification_id: z.string(),
  name: z.string(),
  notification_target: notificationTargetSchema.nullable(),
  send_time: iso,
  pns_send_success: z.number().int(),
  pns_send_failure: z.number().int(),
  state: z.enum(NOTIFICATION_STATES),
});
export const notificationDetailsSchema = notificationOverviewSchema.extend({
  notification_content: notificationContentSchema,
  failure_outcomes: z.array(z.object({ failure_reason: z.string(), count: z.number().int() })),
});

export const workItemSchema = z.object({
  id: z.number().int(),
  kind: z.string(),
  key: z.string(),
  state: z.enum(["pending", "running", "dead"]),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  next_attempt_at: iso.nullable(),
  last_error: z.string().nullable(),
});

/** Braze's user fields (seeds: Braze export, "Sample User Export File Output"). */
export const USER_EXPORT_FIELDS = ["external_id", "custom_attributes", "custom_events", "purchases", "devices", "push_tokens", "apps"] as const;
export type UserExportField = (typeof USER_EXPORT_FIELDS)[number];
const userObject = z.record(z.string(), z.unknown());

// ---- the Braze export routes' bodies and answers (seeds: Braze export), shared by both dialects ----

const usersByIdsBody = z
  .object({
    app_group_id: z.string().optional(),
    external_ids: z.array(z.string().min(1)),
    fields_to_export: z.array(z.enum(USER_EXPORT_FIELDS)).optional(),
  })
  .strict();
const usersByIdsAnswer = z.object({ message: z.literal("success"), users: z.array(userObject), invalid_user_ids: z.array(z.string()).optional() });
const deleteUsersBody = z
  .object({
    app_group_id: z.string().optional(),
    external_ids: z.array(z.string().min(1).max(256)).min(1).max(LIMITS.dsrSubjectIdentifiers.value),
  })
  .strict();
const deleteUsersAnswer = z.object({ message: z.literal("success"), deleted: z.number().int() });
const segmentExportBody = z
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
const segmentExportAnswer = z.object({ message: z.literal("success"), object_prefix: z.string(), export_id: z.string() });
const rawEventExportAnswer = z.object({ success: z.literal(true), message: z.literal("success"), export_id: z.string() });

/** The Braze dialect's base path: a Braze client's "REST endpoint" is the service's URL followed by it. */
export const BRAZE_BASE = "/braze";
/**
 * What every Braze request carries: the app group — `owner/app` of an app the API key's scope covers;
 * required (seeds: Braze export, fatal errors: 401 unknown or missing app group id) — and, from
 * legacy clients, the API key itself (current ones send `Authorization: Bearer`).
 */
export const BRAZE_CREDENTIALS = { app_group_id: z.string().describe("the app: owner/app"), api_key: z.string().optional() };
const brazeBody = <S extends z.core.$ZodShape>(body: z.ZodObject<S>) => body.extend(BRAZE_CREDENTIALS).strict();
/** A Braze GET's query: the credentials and the route's own parameters; another parameter is bad syntax (400). */
const brazeQuery = <S extends z.core.$ZodShape>(shape: S) => z.object({ ...BRAZE_CREDENTIALS, ...shape }).strict();
/** Which page of a list (seeds: Braze export: `page`, defaulting to 0, the first). */
const pageMessage = `must be a page number from 0 (the default, the first) to ${LIMITS.brazePageNumber.value}`;
const brazePage = { page: digitsParam("a page number (0, the default, is the first)").pipe(z.number().max(LIMITS.brazePageNumber.value, pageMessage)).default(0) };
const success = { message: z.literal("success") };
/** A series query (braze-series.ts): length 1–100 units, day or hour, ending at `ending_at` (default now); `app_id`, when sent, is the app group's own app. */
const kpiQuery = { length: seriesLengthParam, ending_at: endingAtSchema.optional(), app_id: z.string().optional() };
const seriesQuery = { ...kpiQuery, unit: z.enum(SERIES_UNITS).default("day") };
/** A KPI: a daily series (seeds: Braze export, KPI export), its point named after it. */
const kpiRoute = <N extends string>(path: string, point: N, summary: string) =>
  ({
    method: "GET",
    path: `${BRAZE_BASE}/kpi/${path}/data_series`,
    summary,
    auth: "brazeKey",
    query: brazeQuery(kpiQuery),
    responses: { 200: seriesOf({ [point]: z.number().int() } as Record<N, z.ZodNumber>) },
  }) as const;
const seriesOf = <S extends z.core.$ZodShape>(point: S) => z.object({ ...success, data: z.array(z.object({ time: z.string(), ...point })) });
/** Whether a list includes archived items (seeds: Braze export: `include_archived`, default false). */
const includeArchived = { include_archived: z.enum(["true", "false"]).optional() };
/** The analytics-enabled segment a series is narrowed to: the events of its members now (seeds: sessions and custom events). */
const segmentId = textParam("a segment id (segments/list names them)");
const segmentFilter = { segment_id: segmentId.optional() };
const campaignParams = { campaign_id: textParam("a campaign id (campaigns/list names them)") };
/** A push message type's statistics on one day (seeds: Braze export, campaigns/data_series; braze-series.ts). */
const campaignPushStats = z.object(Object.fromEntries(CAMPAIGN_PUSH_STATS.map((stat) => [stat, z.number().int()])) as Record<(typeof CAMPAIGN_PUSH_STATS)[number], z.ZodNumber>);
/** A news feed card (seeds: Braze export); the service has none, so lists are empty and ids unknown. */
const feedCardParams = { card_id: textParam("a card id") };
const productFilter = textParam("a product id (purchases/product_list names them)").optional();

/** A Braze error answer: what Braze clients read (`message`). */
export const brazeErrorBodySchema = z.object({ message: z.string() });

const audienceName = withApp({ audience_name: z.string() });
const notificationListQuery = z.object({
  $top: z.coerce.number().int().min(0).max(LIMITS.notificationListTop.value).default(30),
  $skiptoken: z.string().optional(),
  $orderby: z.string().optional(),
  $inlinecount: z.enum(["allpages", "none"]).default("none"),
  include_archived: z.enum(["true", "false"]).optional(),
});
const jobParams = withApp({ job_id: z.string() });
const configParams = withApp({ export_configuration_id: z.string() });
const tokenParams = withApp({ token_id: z.string() });
const dsrParams = withApp({ request_id: z.string() });
const broadcastStatus = z.object({
  status: z.enum(BROADCAST_METRICS_STATUSES),
  error: z.string().optional(),
  downloadDetails: z.object({ dataUrl: z.string(), expiration: iso }).optional(),
});

const APP = "/v0.1/apps/:owner_name/:app_name";
const AUDIENCES = `${APP}/analytics/audiences`;
const CLOUDKIT = "/cloudkit/v1/broadcast-metrics";

/** Every route the service serves. */
export const API = {
  health: { method: "GET", path: "/healthz", summary: "Liveness", auth: "none", responses: { 200: z.object({ status: z.literal("ok") }) } },
  currentApiToken: {
    method: "GET",
    path: "/v0.1/api_tokens/current",
    summary: "The presented API token's id, description and scope: the apps it may touch ('owner/app', 'owner/*')",
    auth: "apiToken",
    responses: { 200: apiTokenInfoSchema },
  },

  // ---- audiences (swagger Analytics_*) ----
  listAudiences: {
    method: "GET",
    path: AUDIENCES,
    operationId: "Analytics_ListAudiences",
    summary: "The app's audiences by name, in pages",
    auth: "apiToken",
    params: appParams,
    query: z.object({
      include_disabled: z.enum(["true", "false"]).optional(),
      $top: z.coerce.number().int().min(1).max(LIMITS.audiencesPerApp.value).optional(),
      $skiptoken: z.string().optional(),
    }),
    responses: { 200: audienceListSchema },
  },
  listDeviceProperties: {
    method: "GET",
    path: `${AUDIENCES}/metadata/device_properties`,
    operationId: "Analytics_ListDeviceProperties",
    summary: "The device properties a definition may compare, with their types",
    auth: "apiToken",
    params: appParams,
    responses: { 200: z.object({ values: z.record(z.enum(Object.keys(DEVICE_PROPERTIES) as [keyof typeof DEVICE_PROPERTIES]), propertyTypeSchema) }) },
  },
  listCustomProperties: {
    method: "GET",
    path: `${AUDIENCES}/metadata/custom_properties`,
    operationId: "Analytics_ListCustomProperties",
    summary: "The custom properties the app's audiences declare, with their types",
    auth: "apiToken",
    params: appParams,
    responses: { 200: z.object({ values: z.record(z.string(), propertyTypeSchema) }) },
  },
  listDevicePropertyValues: {
    method: "GET",
    path: `${AUDIENCES}/metadata/device_properties/:property_name/values`,
    operationId: "Analytics_ListDevicePropertyValues",
    summary: "Up to 100 distinct values of a device property",
    auth: "apiToken",
    params: withApp({ property_name: z.string() }),
    query: z.object({ contains: z.string().max(256).optional() }),
    responses: { 200: z.object({ values: z.array(z.string()) }) },
  },
  testAudience: {
    method: "POST",
    path: `${AUDIENCES}/definition/test`,
    operationId: "Analytics_TestAudience",
    summary: "Checks a definition and counts the devices it selects now",
    auth: "apiToken",
    params: appParams,
    body: audienceDefinitionSchema,
    responses: { 200: audienceTestResultSchema },
  },
  audienceExists: {
    method: "HEAD",
    path: `${AUDIENCES}/:audience_name`,
    operationId: "Analytics_AudienceNameExists",
    summary: "204 when the audience exists, 404 otherwise",
    auth: "apiToken",
    params: audienceName,
    responses: { 204: null, 404: null },
  },
  getAudience: {
    method: "GET",
    path: `${AUDIENCES}/:audience_name`,
    operationId: "Analytics_GetAudience",
    summary: "One audience with its size",
    auth: "apiToken",
    params: audienceName,
    responses: { 200: audienceSchema },
  },
  putAudience: {
    method: "PUT",
    path: `${AUDIENCES}/:audience_name`,
    operationId: "Analytics_CreateOrUpdateAudience",
    summary: "Creates or changes an audience (Calculating until counted)",
    auth: "apiToken",
    params: audienceName,
    body: audienceDefinitionSchema,
    responses: { 200: audienceSchema },
  },
  deleteAudience: {
    method: "DELETE",
    path: `${AUDIENCES}/:audience_name`,
    operationId: "Analytics_DeleteAudience",
    summary: "Deletes an audience",
    auth: "apiToken",
    params: audienceName,
    responses: { 204: null },
  },

  // ---- what an SDK sends ----
  ingestDevice: {
    method: "POST",
    path: `${APP}/ingest/devices`,
    summary: "Registers or updates one device",
    auth: "apiToken",
    params: appParams,
    body: deviceSchema,
    responses: { 200: z.object({ install_id: z.string() }) },
  },
  ingestDevicesBulk: {
    method: "POST",
    path: `${APP}/ingest/devices/bulk`,
    summary: "Registers or updates devices from application/x-ndjson, one device per line; checked whole before any is written",
    auth: "apiToken",
    params: appParams,
    responses: { 200: z.object({ accepted: z.number().int() }) },
  },
  ingestEvents: {
    method: "POST",
    path: `${APP}/ingest/events`,
    summary: "Records events: application/x-ndjson (one per line) or JSON {events}",
    auth: "apiToken",
    params: appParams,
    responses: { 200: z.object({ accepted: z.number().int() }) },
  },
  deleteDevice: {
    method: "DELETE",
    path: `${APP}/push/devices/:install_id`,
    operationId: "Push_DeleteInstallId",
    summary: "Forgets a device",
    auth: "apiToken",
    params: withApp({ install_id: z.string() }),
    responses: { 200: empty },
  },

  // ---- notifications (swagger Push_*) ----
  sendNotification: {
    method: "POST",
    path: `${APP}/push/notifications`,
    operationId: "Push_Send",
    summary: "Accepts a notification for delivery (at most 1,000 target devices)",
    auth: "apiToken",
    params: appParams,
    body: notificationDefinitionSchema,
    responses: { 202: z.object({ notification_id: z.string() }) },
  },
  listNotifications: {
    method: "GET",
    path: `${APP}/push/notifications`,
    operationId: "Push_List",
    summary: "The app's notifications, in pages",
    auth: "apiToken",
    params: appParams,
    query: notificationListQuery,
    responses: { 200: z.object({ values: z.array(notificationOverviewSchema), total: z.number().int().optional(), nextLink: z.string().optional() }) },
  },
  getNotification: {
    method: "GET",
    path: `${APP}/push/notifications/:notification_id`,
    operationId: "Push_Get",
    summary: "One notification with its delivery outcomes",
    auth: "apiToken",
    params: withApp({ notification_id: z.string() }),
    responses: { 200: notificationDetailsSchema },
  },
  archiveNotifications: {
    method: "DELETE",
    path: `${APP}/push/notifications`,
    operationId: "Push_Delete",
    summary: "Archives notifications (they stay visible with include_archived)",
    auth: "apiToken",
    params: appParams,
    body: z.object({ values: z.array(z.string()).min(1).max(1000) }).strict(),
    responses: { 200: empty },
  },
  pushConfigExists: {
    method: "HEAD",
    path: `${APP}/push/notifications_config`,
    operationId: "Push_ConfigExists",
    summary: "204 when the app has push credentials, 404 otherwise",
    auth: "apiToken",
    params: appParams,
    responses: { 204: null, 404: null },
  },
  getPushConfig: {
    method: "GET",
    path: `${APP}/push/notifications_config`,
    operationId: "Push_GetConfig",
    summary: "The app's push credentials, the secret masked",
    auth: "apiToken",
    params: appParams,
    responses: { 200: pushConfigResultSchema },
  },
  setPushConfig: {
    method: "PUT",
    path: `${APP}/push/notifications_config`,
    operationId: "Push_SetConfig",
    summary: "Sets the app's push credentials (encrypted at rest)",
    auth: "apiToken",
    params: appParams,
    body: pushConfigSchema,
    responses: { 200: pushConfigResultSchema },
  },
  deletePushConfig: {
    method: "DELETE",
    path: `${APP}/push/notifications_config`,
    operationId: "Push_DeleteConfig",
    summary: "Deletes the app's push credentials",
    auth: "apiToken",
    params: appParams,
    responses: { 200: empty },
  },

  // ---- exports ----
  startDeviceExport: {
    method: "POST",
    path: `${APP}/push/device_exports`,
    operationId: "Push_ExportDevices",
    summary: "Exports every device as JSON lines into a container",
    auth: "apiToken",
    params: appParams,
    body: z.object({ blob_container_sas_uri: z.string() }).strict(),
    responses: { 202: z.object({ export_id: z.string() }) },
  },
  getDeviceExport: {
    method: "GET",
    path: `${APP}/push/device_exports/:export_id`,
    operationId: "Push_ExportDevicesStatus",
    summary: "A device export's status and progress",
    auth: "apiToken",
    params: withApp({ export_id: z.string() }),
    responses: { 200: exportRunSchema },
  },
  getExportRun: {
    method: "GET",
    path: `${APP}/export_runs/:run_id`,
    summary: "Any export run's status and progress",
    auth: "apiToken",
    params: withApp({ run_id: z.string() }),
    responses: { 200: exportRunSchema },
  },
  createExportJob: {
    method: "POST",
    path: `${APP}/export_jobs`,
    summary: "A one-off or cron-scheduled export",
    auth: "apiToken",
    params: appParams,
    body: exportJobBodySchema,
    responses: { 201: exportJobSchema },
  },
  getExportJob: { method: "GET", path: `${APP}/export_jobs/:job_id`, summary: "An export job with its last run", auth: "apiToken", params: jobParams, responses: { 200: exportJobSchema } },
  updateExportJob: { method: "PUT", path: `${APP}/export_jobs/:job_id`, summary: "Changes an export job", auth: "apiToken", params: jobParams, body: exportJobBodySchema, responses: { 200: exportJobSchema } },
  deleteExportJob: { method: "DELETE", path: `${APP}/export_jobs/:job_id`, summary: "Deletes an export job", auth: "apiToken", params: jobParams, responses: { 204: null } },
  listExportJobRuns: {
    method: "GET",
    path: `${APP}/export_jobs/:job_id/runs`,
    summary: "An export job's runs, newest first",
    auth: "apiToken",
    params: jobParams,
    query: z.object({ $top: z.coerce.number().int().min(1).max(1000).default(30) }),
    responses: { 200: z.object({ values: z.array(exportRunSchema) }) },
  },
  exportUsersByIds: {
    method: "POST",
    path: `${APP}/users/export/ids`,
    summary: "Braze-style user objects for up to 50 external ids (seeds: Braze export)",
    auth: "apiToken",
    params: appParams,
    body: usersByIdsBody,
    responses: { 200: usersByIdsAnswer },
  },
  deleteUsers: {
    method: "POST",
    path: `${APP}/users/delete`,
    summary: "Braze-style user deletion: an erasure (a data-subject request) per external id, up to 50",
    auth: "apiToken",
    params: appParams,
    body: deleteUsersBody,
    responses: { 201: deleteUsersAnswer },
  },
  exportSegment: {
    method: "POST",
    path: `${APP}/users/export/segment`,
    summary: "Braze-style segment (audience) export into a container",
    auth: "apiToken",
    params: appParams,
    body: segmentExportBody,
    responses: { 202: segmentExportAnswer },
  },
  exportRawEvents: {
    method: "POST",
    path: `${APP}/raw_data/export`,
    summary: "Braze-style raw event export: a window of at most a week in the last 3 months, one at a time",
    auth: "apiToken",
    params: appParams,
    body: rawEventExportSchema,
    responses: { 202: rawEventExportAnswer },
  },
  putRetentionPolicy: {
    method: "PUT",
    path: `${APP}/retention_policies`,
    summary: "Registers a container's retention and the list+delete grant to enforce it",
    auth: "apiToken",
    params: appParams,
    body: retentionBodySchema,
    responses: { 200: retentionPolicySchema },
  },
  getRetentionPolicy: { method: "GET", path: `${APP}/retention_policies`, summary: "A container's retention", auth: "apiToken", params: appParams, query: containerQuery, responses: { 200: retentionPolicySchema } },
  deleteRetentionPolicy: { method: "DELETE", path: `${APP}/retention_policies`, summary: "Forgets a container's retention", auth: "apiToken", params: appParams, query: containerQuery, responses: { 204: null } },
  sweepRetentionPolicy: {
    method: "POST",
    path: `${APP}/retention_policies/sweep`,
    summary: "Sweeps a container now",
    auth: "apiToken",
    params: appParams,
    query: containerQuery,
    responses: { 200: retentionPolicySchema },
  },

  // ---- CloudKit-style data export tokens ----
  createDataExportToken: {
    method: "POST",
    path: `${APP}/data_export_tokens`,
    summary: "A data export token (the value is in this answer only)",
    auth: "apiToken",
    params: appParams,
    body: dataExportTokenRequestSchema,
    responses: { 201: dataExportTokenSchema },
  },
  getDataExportToken: { method: "GET", path: `${APP}/data_export_tokens/:token_id`, summary: "A data export token, without its value", auth: "apiToken", params: tokenParams, responses: { 200: dataExportTokenSchema } },
  deleteDataExportToken: { method: "DELETE", path: `${APP}/data_export_tokens/:token_id`, summary: "Revokes a data export token", auth: "apiToken", params: tokenParams, responses: { 204: null } },

  // ---- data-subject requests (GDPR access and erasure; domain/dsr.ts) ----
  createDataSubjectRequest: {
    method: "POST",
    path: `${APP}/data_subject_requests`,
    summary: "A data-subject request for one subject (access or erasure), carried out in the background; Location names it",
    auth: "apiToken",
    params: appParams,
    body: dsrRequestSchema,
    responses: { 202: dsrResultSchema },
  },
  listDataSubjectRequests: {
    method: "GET",
    path: `${APP}/data_subject_requests`,
    summary: "The app's data-subject requests, newest first ($top of them)",
    auth: "apiToken",
    params: appParams,
    query: z.object({ $top: z.coerce.number().int().min(1).max(1000).default(100) }),
    responses: { 200: z.object({ values: z.array(dsrResultSchema) }) },
  },
  getDataSubjectRequest: {
    method: "GET",
    path: `${APP}/data_subject_requests/:request_id`,
    summary: "A data-subject request: its state and, once complete, its receipt (identifiers as keyed hashes only)",
    auth: "apiToken",
    params: dsrParams,
    responses: { 200: dsrResultSchema },
  },
  cancelDataSubjectRequest: {
    method: "POST",
    path: `${APP}/data_subject_requests/:request_id/cancel`,
    summary: "Cancels a data-subject request that has not started (409 once it has)",
    auth: "apiToken",
    params: dsrParams,
    responses: { 200: dsrResultSchema },
  },

  recheckDataSubjectRequest: {
    method: "POST",
    path: `${APP}/data_subject_requests/:request_id/recheck`,
    summary: "Whether an erased subject has come back: the devices that hold its identifiers now (the subject given must be the request's: its keyed hashes are compared)",
    auth: "apiToken",
    params: dsrParams,
    body: z.object({ subject: dsrSubjectSchema }).strict(),
    responses: { 200: dsrRecheckSchema },
  },

  // ---- App Center account data-subject rights (swagger DataSubjectRight_*; domain/account-dsr.ts) ----
  accountExportRequest: {
    method: "POST",
    path: "/v0.1/user/dsr/export",
    operationId: "DataSubjectRight_ExportRequest",
    summary: "Exports what the service holds about the token holder's account (the API token's record); Location names the request",
    auth: "apiToken",
    responses: { 202: dataSubjectRightResponseSchema },
  },
  accountExportStatus: {
    method: "GET",
    path: "/v0.1/user/dsr/export/:token",
    operationId: "DataSubjectRight_ExportStatusRequest",
    summary: "An account export's status and, once Completed, the signed URL of its document",
    auth: "apiToken",
    params: z.object({ token: z.string() }),
    responses: { 200: dataSubjectRightStatusSchema },
  },
  accountExportCancel: {
    method: "POST",
    path: "/v0.1/user/dsr/export/:token/cancel",
    operationId: "DataSubjectRight_CancelExportRequest",
    summary: "Cancels an account export that has not run (503 while it runs, 409 once it ended)",
    auth: "apiToken",
    params: z.object({ token: z.string() }),
    responses: { 202: dataSubjectRightResponseSchema },
  },
  accountExportDocument: {
    method: "GET",
    path: "/v0.1/user/dsr/export/:token/document",
    summary: "An account export's document (the signed URL is the authorization)",
    auth: "signedUrl",
    params: z.object({ token: z.string() }),
    query: z.object({ expires: z.string().optional(), sig: z.string().optional() }),
    responses: { 200: null },
  },
  accountDeleteRequest: {
    method: "POST",
    path: "/v0.1/user/dsr/delete",
    operationId: "DataSubjectRight_DeleteRequest",
    summary: "Deletes what the service holds about the token holder's account (the API token: it stops working), after a grace period in which it can be cancelled",
    auth: "apiToken",
    responses: { 202: dataSubjectRightResponseSchema },
  },
  accountDeleteStatus: {
    method: "GET",
    path: "/v0.1/user/dsr/delete/:token",
    operationId: "DataSubjectRight_DeleteStatusRequest",
    summary: "An account deletion's status: the request's token is the authorization (the account's API token is gone once it completes)",
    auth: "none",
    params: z.object({ token: z.string() }),
    query: dataSubjectRightEmailSchema,
    responses: { 200: dataSubjectRightStatusSchema },
  },
  accountDeleteCancel: {
    method: "POST",
    path: "/v0.1/user/dsr/delete/:token/cancel",
    operationId: "DataSubjectRight_CancelDeleteRequest",
    summary: "Cancels an account deletion still in its grace period (503 while it runs, 409 once it ended)",
    auth: "apiToken",
    params: z.object({ token: z.string() }),
    // The swagger's body is optional: none arrives as null.
    body: dataSubjectRightEmailSchema.nullish(),
    responses: { 202: dataSubjectRightResponseSchema },
  },

  // ---- App Center continuous export (swagger ExportConfigurations_*) ----
  createExportConfiguration: {
    method: "POST",
    path: `${APP}/export_configurations`,
    operationId: "ExportConfigurations_Create",
    summary: "Continuous export of the app's events to a storage account",
    auth: "apiToken",
    params: appParams,
    body: exportConfigurationSchema,
    responses: { 202: exportConfigurationResultSchema },
  },
  listExportConfigurations: {
    method: "GET",
    path: `${APP}/export_configurations`,
    operationId: "ExportConfigurations_List",
    summary: "The app's export configurations",
    auth: "apiToken",
    params: appParams,
    // All configurations in one page: nextLink is never set.
    responses: { 200: z.object({ values: z.array(exportConfigurationResultSchema), total: z.number().int(), nextLink: z.string().optional() }) },
  },
  getExportConfiguration: {
    method: "GET",
    path: `${APP}/export_configurations/:export_configuration_id`,
    operationId: "ExportConfigurations_Get",
    summary: "One export configuration",
    auth: "apiToken",
    params: configParams,
    responses: { 200: exportConfigurationResultSchema },
  },
  updateExportConfiguration: {
    method: "PATCH",
    path: `${APP}/export_configurations/:export_configuration_id`,
    operationId: "ExportConfigurations_PartialUpdate",
    summary: "Changes an export configuration's account or entities",
    auth: "apiToken",
    params: configParams,
    body: exportConfigurationPatchSchema,
    responses: { 200: exportConfigurationResultSchema },
  },
  deleteExportConfiguration: {
    method: "DELETE",
    path: `${APP}/export_configurations/:export_configuration_id`,
    operationId: "ExportConfigurations_Delete",
    summary: "Deletes an export configuration",
    auth: "apiToken",
    params: configParams,
    responses: { 200: empty },
  },
  enableExportConfiguration: {
    method: "POST",
    path: `${APP}/export_configurations/:export_configuration_id/enable`,
    operationId: "ExportConfigurations_Enable",
    summary: "Enables an export configuration",
    auth: "apiToken",
    params: configParams,
    responses: { 200: empty },
  },
  disableExportConfiguration: {
    method: "POST",
    path: `${APP}/export_configurations/:export_configuration_id/disable`,
    operationId: "ExportConfigurations_Disable",
    summary: "Disables an export configuration",
    auth: "apiToken",
    params: configParams,
    responses: { 200: empty },
  },

  // ---- background work ----
  listBackgroundWork: {
    method: "GET",
    path: `${APP}/background_work`,
    summary: "The app's background work: pending, running, or set aside (dead) with the reason",
    auth: "apiToken",
    params: appParams,
    query: z.object({ state: z.enum(["pending", "dead"]).optional() }).strict(),
    responses: { 200: z.object({ values: z.array(workItemSchema) }) },
  },

  // ---- CloudKit-style broadcast metrics (seeds: CloudKit broadcast-metrics export) ----
  requestApplicationMetrics: {
    method: "POST",
    path: `${CLOUDKIT}/application/export`,
    summary: "Requests an application broadcast-metrics report",
    auth: "dataExportToken",
    body: broadcastMetricsRequestSchema,
    responses: { 200: z.object({ statusUrl: z.string() }) },
  },
  requestChannelMetrics: {
    method: "POST",
    path: `${CLOUDKIT}/channel/export`,
    summary: "Requests a channel broadcast-metrics report",
    auth: "dataExportToken",
    body: broadcastMetricsRequestSchema,
    responses: { 200: z.object({ statusUrl: z.string() }) },
  },
  broadcastMetricsStatus: {
    method: "GET",
    path: `${CLOUDKIT}/requests/:id`,
    summary: "A report's status, with a signed download URL once ready",
    auth: "dataExportToken",
    params: z.object({ id: z.string() }),
    responses: { 200: broadcastStatus },
  },
  broadcastMetricsDownload: {
    method: "GET",
    path: `${CLOUDKIT}/downloads/:id`,
    summary: "The report's CSV (the signed URL is the authorization)",
    auth: "signedUrl",
    params: z.object({ id: z.string() }),
    query: z.object({ expires: z.string().optional(), sig: z.string().optional() }),
    // text/csv (BROADCAST_METRICS_COLUMNS), not JSON: no schema to serialize with.
    responses: { 200: null },
  },

  // ---- the Braze dialect (seeds: Braze export): paths as the seed writes them, under BRAZE_BASE ----
  brazeExportUsersByIds: {
    method: "POST",
    path: `${BRAZE_BASE}/users/export/ids`,
    summary: "Braze: user objects for up to 50 external ids",
    auth: "brazeKey",
    body: brazeBody(usersByIdsBody),
    responses: { 200: usersByIdsAnswer },
  },
  brazeExportSegment: {
    method: "POST",
    path: `${BRAZE_BASE}/users/export/segment`,
    summary: "Braze: the users of a segment (an audience) into a container",
    auth: "brazeKey",
    body: brazeBody(segmentExportBody),
    responses: { 202: segmentExportAnswer },
  },
  brazeDeleteUsers: {
    method: "POST",
    path: `${BRAZE_BASE}/users/delete`,
    summary: "Braze: an erasure (a data-subject request) per external id, up to 50",
    auth: "brazeKey",
    body: brazeBody(deleteUsersBody),
    responses: { 201: deleteUsersAnswer },
  },
  brazeSegmentsList: {
    method: "GET",
    path: `${BRAZE_BASE}/segments/list`,
    summary: "Braze: segments (the app's enabled audiences), newest first, 100 a page",
    auth: "brazeKey",
    query: brazeQuery(brazePage),
    responses: { 200: z.object({ ...success, segments: z.array(z.object({ id: z.string(), name: z.string(), analytics_tracking_enabled: z.boolean(), tags: z.array(z.string()) })) }) },
  },
  brazeSegmentDetails: {
    method: "GET",
    path: `${BRAZE_BASE}/segments/details`,
    summary: "Braze: a segment's details (its description of filters is the audience's definition)",
    auth: "brazeKey",
    query: brazeQuery({ segment_id: segmentId }),
    responses: { 200: z.object({ ...success, created_at: iso, updated_at: iso, name: z.string(), description: z.string(), tags: z.array(z.string()) }) },
  },
  brazeSegmentSeries: {
    method: "GET",
    path: `${BRAZE_BASE}/segments/data_series`,
    summary: "Braze: a segment's size at the end of each day",
    auth: "brazeKey",
    query: brazeQuery({ segment_id: segmentId, ...kpiQuery }),
    responses: { 200: seriesOf({ size: z.number().int() }) },
  },
  brazeCampaignsList: {
    method: "GET",
    path: `${BRAZE_BASE}/campaigns/list`,
    summary: "Braze: campaigns (the app's notifications), newest first, 100 a page; archived ones with include_archived",
    auth: "brazeKey",
    query: brazeQuery({ ...brazePage, ...includeArchived }),
    responses: { 200: z.object({ ...success, campaigns: z.array(z.object({ id: z.string(), name: z.string(), is_api_campaign: z.boolean(), tags: z.array(z.string()) })) }) },
  },
  brazeCampaignDetails: {
    method: "GET",
    path: `${BRAZE_BASE}/campaigns/details`,
    summary: "Braze: a campaign's details (a notification: when sent, on which push channels)",
    auth: "brazeKey",
    query: brazeQuery(campaignParams),
    responses: {
      200: z.object({
        ...success,
        created_at: iso,
        updated_at: iso,
        name: z.string(),
        archived: z.boolean(),
        schedule_type: z.string(),
        channels: z.array(z.string()),
        first_sent: iso.nullable(),
        last_sent: iso.nullable(),
        tags: z.array(z.string()),
      }),
    },
  },
  brazeCampaignSeries: {
    method: "GET",
    path: `${BRAZE_BASE}/campaigns/data_series`,
    summary: "Braze: a campaign's daily stats per push message type, with conversions and revenue",
    auth: "brazeKey",
    query: brazeQuery({ ...campaignParams, ...kpiQuery }),
    responses: {
      200: seriesOf({
        conversions: z.number().int(),
        revenue: z.number(),
        conversions_by_send_time: z.number().int(),
        messages: z.record(z.string(), z.array(campaignPushStats)),
      }),
    },
  },
  brazeFeedList: {
    method: "GET",
    path: `${BRAZE_BASE}/feed/list`,
    summary: "Braze: news feed cards (the service has none: always empty)",
    auth: "brazeKey",
    query: brazeQuery({ ...brazePage, ...includeArchived }),
    responses: { 200: z.object({ ...success, cards: z.array(z.object({ id: z.string(), type: z.string(), title: z.string(), tags: z.array(z.string()) })) }) },
  },
  brazeFeedDetails: {
    method: "GET",
    path: `${BRAZE_BASE}/feed/details`,
    summary: "Braze: a news feed card's details (no card exists: 400 naming card_id)",
    auth: "brazeKey",
    query: brazeQuery(feedCardParams),
    responses: { 200: z.object({ ...success, name: z.string() }) },
  },
  brazeFeedSeries: {
    method: "GET",
    path: `${BRAZE_BASE}/feed/data_series`,
    summary: "Braze: a news feed card's engagement series (no card exists: 400 naming card_id)",
    auth: "brazeKey",
    query: brazeQuery({ ...feedCardParams, ...seriesQuery }),
    responses: { 200: z.object({ ...success, data: z.array(z.record(z.string(), z.unknown())) }) },
  },
  brazeMauSeries: kpiRoute("mau", "mau", "Braze: users active in the 30 days ending with each day"),
  brazeDauSeries: kpiRoute("dau", "dau", "Braze: users active on each day"),
  brazeNewUsersSeries: kpiRoute("new_users", "new_users", "Braze: users whose first activity fell on each day"),
  brazeUninstallsSeries: kpiRoute("uninstalls", "uninstalls", "Braze: uninstall events on each day"),
  brazeSessionsSeries: {
    method: "GET",
    path: `${BRAZE_BASE}/sessions/data_series`,
    summary: "Braze: sessions (session_start events) per day or hour, of all devices or a segment's",
    auth: "brazeKey",
    query: brazeQuery({ ...segmentFilter, ...seriesQuery }),
    responses: { 200: seriesOf({ sessions: z.number().int() }) },
  },
  brazeEventsList: {
    method: "GET",
    path: `${BRAZE_BASE}/events/list`,
    summary: "Braze: the custom event names recorded for the app, alphabetically, 250 a page",
    auth: "brazeKey",
    query: brazeQuery(brazePage),
    responses: { 200: z.object({ ...success, events: z.array(z.string()) }) },
  },
  brazeEventsSeries: {
    method: "GET",
    path: `${BRAZE_BASE}/events/data_series`,
    summary: "Braze: occurrences of one custom event per day or hour, of all devices or a segment's",
    auth: "brazeKey",
    query: brazeQuery({ event: textParam("a custom event name (events/list names them)"), ...segmentFilter, ...seriesQuery }),
    responses: { 200: seriesOf({ count: z.number().int() }) },
  },
  brazeProductsList: {
    method: "GET",
    path: `${BRAZE_BASE}/purchases/product_list`,
    summary: "Braze: the products purchased in the app, alphabetically, 250 a page",
    auth: "brazeKey",
    query: brazeQuery(brazePage),
    responses: { 200: z.object({ ...success, products: z.array(z.string()) }) },
  },
  brazeRevenueSeries: {
    method: "GET",
    path: `${BRAZE_BASE}/purchases/revenue_series`,
    summary: "Braze: money spent per day or hour, in USD (fixed rates), of all products or one",
    auth: "brazeKey",
    query: brazeQuery({ product: productFilter, ...seriesQuery }),
    responses: { 200: seriesOf({ revenue: z.number() }) },
  },
  brazeQuantitySeries: {
    method: "GET",
    path: `${BRAZE_BASE}/purchases/quantity_series`,
    summary: "Braze: purchases per day or hour, of all products or one",
    auth: "brazeKey",
    query: brazeQuery({ product: productFilter, ...seriesQuery }),
    responses: { 200: seriesOf({ purchase_quantity: z.number().int() }) },
  },
  brazeExportRawEvents: {
    method: "POST",
    path: `${BRAZE_BASE}/raw_data/export`,
    summary: "Braze: raw events of at most a week in the last 3 months, one export at a time",
    auth: "brazeKey",
    body: brazeBody(rawEventExportSchema),
    responses: { 202: rawEventExportAnswer },
  },
} as const satisfies Record<string, RouteContract>;

export type ApiRoute = keyof typeof API;

/** The JSON events body (NDJSON is read by the service's streaming parser instead). */
export const eventsBodySchema = z.object({ events: z.array(eventSchema).max(LIMITS.ingestBatchEvents.value) }).strict();
