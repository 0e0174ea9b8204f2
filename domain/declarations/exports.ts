// The export resources, declared: scheduled export jobs (seeds: Braze export; CloudKit
// broadcast-metrics export), App Center's continuous export, and CloudKit-style data export tokens.
import { z } from "zod";
import { broadcastMetricsJobOptionsSchema } from "../broadcast-metrics.ts";
import { BRAZE_SERIES_NAMES, brazeSeriesJobOptionsSchema, SERIES_EXPORT_FORMATS, type BrazeSeriesName } from "../braze-series-export.ts";
import { SERIES_UNITS } from "../braze-series.ts";
import { DATA_EXPORT_DATASETS, DATA_EXPORT_TOKEN_DEFAULT_LIFETIME_DAYS } from "../data-export-token.ts";
import { appFields, declareResource, type InputFailure } from "../declare-resource.ts";
import { LIMITS } from "../limits.ts";
import { PROVIDER_CONFIG } from "../provider-config.ts";
import { firstRun } from "../schedule.ts";
import { connectionStringSchema, EXPORT_ENTITIES, EXPORT_KINDS, usersExportExternalIdsSchema } from "../storage.ts";

const segmentOptions = z
  .object({
    segmentId: z.string().min(1),
    format: z.enum(["zip", "gzip"]).default("zip"),
    fields: z.array(z.string()).optional(),
    callbackEndpoint: z.string().optional(),
  })
  .strict();
const usersByIdOptions = z
  .object({
    externalIds: usersExportExternalIdsSchema,
    format: z.enum(["zip", "gzip"]).default("zip"),
    fields: z.array(z.string()).optional(),
  })
  .strict();
const rawEventOptions = z
  .object({ windowDays: z.number().int().min(1).max(LIMITS.rawEventExportWindowDays.value).default(1), eventNames: z.array(z.string().min(1)).optional() })
  .strict();
const broadcastMetricsOptions = z
  .object({
    bundleId: z.string().min(1),
    dataset: z.enum(DATA_EXPORT_DATASETS).default("broadcast_application_metrics"),
    audience: z.string().min(1).optional(),
    windowDays: z.number().int().default(1),
  })
  .strict();

const brazeSeriesOptions = z
  .object({
    series: z.enum(BRAZE_SERIES_NAMES as [BrazeSeriesName, ...BrazeSeriesName[]]),
    length: z.number().int().default(1),
    unit: z.enum(SERIES_UNITS).optional(),
    event: z.string().optional(),
    product: z.string().optional(),
    segmentId: z.string().optional(),
    campaignId: z.string().optional(),
    format: z.enum(SERIES_EXPORT_FORMATS).default("csv"),
  })
  .strict();

/** The service's options for a Braze series job (its field names). */
export const brazeSeriesJobOptions = (series: z.output<typeof brazeSeriesOptions>) => ({
  series: series.series,
  length: series.length,
  format: series.format,
  ...(series.unit ? { unit: series.unit } : {}),
  ...(series.event !== undefined ? { event: series.event } : {}),
  ...(series.product !== undefined ? { product: series.product } : {}),
  ...(series.segmentId !== undefined ? { segment_id: series.segmentId } : {}),
  ...(series.campaignId !== undefined ? { campaign_id: series.campaignId } : {}),
});

/** The service's options for a broadcast-metrics job (CloudKit names a channel by base64 id). */
export const broadcastJobOptions = (metrics: z.output<typeof broadcastMetricsOptions>) => ({
  bundle_id: metrics.bundleId,
  dataset: metrics.dataset,
  window_days: metrics.windowDays,
  ...(metrics.audience ? { channel_id: Buffer.from(metrics.audience, "utf8").toString("base64") } : {}),
});

/** Which options each kind takes: the other kinds' options are refused, not ignored. */
const OPTIONS_OF = {
  segment_export: "segment",
  users_by_id_export: "usersById",
  raw_event_export: "rawEvents",
  broadcast_metrics_export: "broadcastMetrics",
  braze_series_export: "brazeSeries",
} as const;
const REQUIRED = {
  segment: "which audience to export ({ segmentId })",
  usersById: "which users to export ({ externalIds: [...] })",
  broadcastMetrics: "at least { bundleId }",
  brazeSeries: "which series ({ series, ... })",
} as const;

export const exportJobResource = declareResource({
  kind: "ExportJob",
  doc: "A one-off or cron-scheduled export into a container through a SAS URL. The schedule lives in the service, which runs it durably (a run missed while it was down runs once when it is back); the outputs show the last run and the next.",
  source: "seeds: Braze export (users by segment, users by id, raw events); seeds: CloudKit broadcast-metrics export",
  inputs: {
    ...appFields({ replaces: true }),
    kind: {
      schema: z.enum(EXPORT_KINDS),
      doc: "What to export: every device, one audience (Braze's segment), named users (Braze's users by id), raw events, the broadcast-metrics report, or one of the Braze dialect's series.",
    },
    schedule: { schema: z.string().min(1).optional(), doc: "Cron expression in UTC (e.g. \"0 2 * * *\"); left out, the export runs once, right after creation." },
    containerSasUrl: {
      schema: z.string().refine((url) => URL.canParse(url), "must be a container SAS URL"),
      doc: "A container SAS URL with create and write permission (e.g. a ContainerSasToken's sasUrl).",
      secret: true,
    },
    prefix: { schema: z.string().regex(/^([A-Za-z0-9._-]+\/)*$/, "must be empty or path segments ending with '/'").default(""), doc: "Blob name prefix, e.g. \"nightly/\"." },
    segment: { schema: segmentOptions.optional(), doc: "kind segment_export only: the audience to export (segmentId), zip or gzip, which fields, whom to tell when done." },
    usersById: {
      schema: usersByIdOptions.optional(),
      doc: "kind users_by_id_export only: the users to export by their user ids (externalIds), written as a segment export writes its users (zip or gzip parts of JSON lines), which fields. The ids are personal data: an erasure takes its subject's id out of the job in the service (a refresh shows it), and the service refuses a job that names an erased user again — remove the id from the program too.",
      limits: [LIMITS.usersExportExternalIds],
    },
    rawEvents: {
      schema: rawEventOptions.optional(),
      doc: "kind raw_event_export only: the last windowDays (default 1) before each run, optionally only some event names.",
      limits: [LIMITS.rawEventExportWindowDays],
    },
    broadcastMetrics: {
      schema: broadcastMetricsOptions.optional(),
      doc: "kind broadcast_metrics_export only: the CloudKit-style CSV (per day: subscribers, sent, delivered, opened) of the app or one channel (its audience) for the last windowDays (default 1), ending yesterday.",
      limits: [LIMITS.broadcastMetricsStartDaysBack],
    },
    brazeSeries: {
      schema: brazeSeriesOptions.optional(),
      doc: `kind braze_series_export only: one of the Braze dialect's series (${BRAZE_SERIES_NAMES.join(", ")}) — the length (default 1) whole days, or hours with unit hour, before each run's due time — as CSV (nested values in dotted columns) or JSON lines (format), with the parameter its series needs: event (custom_event), product (revenue, purchase_quantity; optional), segmentId (segment_size; optional for sessions and custom_event), campaignId (campaign). The points are the ones the series' /braze route answers (README: "The Braze dialect").`,
      limits: [LIMITS.dataSeriesLengthMax],
    },
  },
  outputs: {
    jobId: { schema: z.string(), doc: "The job's id in the service." },
    nextRunTime: { schema: z.string().nullable(), doc: "When the schedule runs next (null once a one-off has run)." },
    lastRunId: { schema: z.string().nullable(), doc: "The last run's export id." },
    lastStatus: { schema: z.string().nullable(), doc: "InProgress, Completed or Failed." },
  },
  refine: (job, pending) => {
    const failures: InputFailure[] = [];
    if (job.schedule !== undefined && !pending.has("schedule")) {
      const next = firstRun(job.schedule, new Date());
      if ("problem" in next) failures.push({ property: "schedule", reason: `schedule: ${next.problem}` });
    }
    if (pending.has("kind")) return failures;
    const wanted = (OPTIONS_OF as Record<string, keyof typeof REQUIRED | "rawEvents">)[job.kind];
    for (const options of Object.values(OPTIONS_OF)) {
      if (options !== wanted && job[options] !== undefined) failures.push({ property: options, reason: `${options} applies to ${kindTaking(options)} only, not ${job.kind}` });
    }
    if (wanted && wanted in REQUIRED && job[wanted] === undefined) {
      failures.push({ property: wanted, reason: `${wanted} is required for a ${job.kind}: ${REQUIRED[wanted as keyof typeof REQUIRED]}` });
    }
    if (job.brazeSeries && !pending.has("brazeSeries")) {
      // The service's own rules (which parameters each series needs or takes), in the program's field names.
      const options = brazeSeriesJobOptionsSchema.safeParse(brazeSeriesJobOptions(job.brazeSeries));
      const field: Record<string, string> = { segment_id: "segmentId", campaign_id: "campaignId" };
      for (const issue of options.error?.issues ?? []) {
        const name = field[String(issue.path[0])] ?? String(issue.path[0]);
        failures.push({ property: "brazeSeries", reason: `brazeSeries.${name}: ${issue.message.replace(/\b(segment_id|campaign_id)\b/g, (id) => field[id]!)}` });
      }
    }
    if (job.broadcastMetrics && !pending.has("broadcastMetrics")) {
      // The service's own rules (seeds: CloudKit broadcast-metrics export), in the program's field names.
      const options = broadcastMetricsJobOptionsSchema.safeParse(broadcastJobOptions(job.broadcastMetrics));
      const field: Record<string, string> = { window_days: "windowDays", channel_id: "audience", bundle_id: "bundleId", dataset: "dataset" };
      for (const issue of options.error?.issues ?? []) {
        const name = field[String(issue.path[0])] ?? String(issue.path[0]);
        const message = issue.message.replace("base64 of the channel's audience name", "the channel's audience name");
        failures.push({ property: "broadcastMetrics", reason: `broadcastMetrics.${name}: ${message}` });
      }
    }
    return failures;
  },
});

const kindTaking = (options: string): string => Object.entries(OPTIONS_OF).find(([, name]) => name === options)![0];

export const exportConfigurationResource = declareResource({
  kind: "ExportConfiguration",
  doc: "App Center's continuous export of the app's analytics events, as NDJSON under analytics/YYYY/MM/DD/HH/ in the account's pushplane-export container, every 5 minutes. The service never answers the connection string back.",
  source: "contract: App Center swagger, ExportConfigurations_Create / Get / PartialUpdate / Delete",
  inputs: {
    ...appFields({ replaces: true }),
    enabled: { schema: z.boolean().default(true), doc: "false keeps the configuration but stops exporting." },
    exportEntities: {
      schema: z
        .array(z.enum(EXPORT_ENTITIES))
        .default([])
        .transform((entities) => [...new Set(entities)].sort()),
      doc: "App Center's crashes, errors, attachments: accepted, but this platform collects none.",
    },
    storageConnectionString: {
      schema: connectionStringSchema.optional(),
      doc: "The storage account's connection string (made secret whatever is passed).",
      defaultText: `stack config ${PROVIDER_CONFIG.storageConnectionString.key}`,
      secret: true,
    },
  },
  outputs: {
    configurationId: { schema: z.string(), doc: "The configuration's id in the service." },
    state: { schema: z.string(), doc: "Enabled, Disabled, Pending (first export not done yet) or Invalid (see stateInfo)." },
    stateInfo: { schema: z.string().nullable(), doc: "Why the state is Invalid." },
    lastRunTime: { schema: z.string().nullable(), doc: "When the last export ran." },
  },
});

export const dataExportTokenResource = declareResource({
  kind: "DataExportToken",
  doc: "A token for one app's broadcast-metrics dataset, expiring at most six months ahead. Its value exists once, in the create answer: it becomes a secret output, encrypted in state. Any change makes a new token.",
  source: "seeds: CloudKit broadcast-metrics export",
  inputs: {
    ...appFields({ replaces: true }),
    name: { schema: z.string().min(1).max(128), doc: "The token's name.", defaultText: "the resource name", replaces: true },
    description: { schema: z.string().max(512).default(""), doc: "What the token is for.", replaces: true },
    bundleId: {
      schema: z.string().regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, "must be a bundle identifier such as com.example.app"),
      doc: "The app's bundle identifier, e.g. com.example.app.",
      replaces: true,
    },
    dataset: { schema: z.enum(DATA_EXPORT_DATASETS), doc: "broadcast_application_metrics (all channels) or broadcast_channel_metrics (per channel).", replaces: true },
    expiresAt: { schema: z.string().optional(), doc: "A fixed ISO-8601 expiry; or use lifetimeDays.", limits: [LIMITS.dataExportTokenMonths], replaces: true },
    lifetimeDays: {
      schema: z.number().positive().optional(),
      doc: "Days from creation; the expiry then stays what it was at creation.",
      defaultText: `${DATA_EXPORT_TOKEN_DEFAULT_LIFETIME_DAYS} when expiresAt is not given`,
      limits: [LIMITS.dataExportTokenMonths],
      replaces: true,
    },
  },
  outputs: {
    tokenId: { schema: z.string(), doc: "The token's id in the service." },
    token: { schema: z.string(), doc: "The token itself, shown once by the service.", secret: true },
    expiresOn: { schema: z.string(), doc: "When the token stops working (ISO-8601)." },
  },
  namedBy: "name",
  refine: (token) => (token.expiresAt !== undefined && token.lifetimeDays !== undefined ? [{ property: "lifetimeDays", reason: "set expiresAt or lifetimeDays, not both" }] : []),
});
