// The ExportJob resource: a one-off or cron-scheduled export into a container through a SAS URL.
// The schedule lives in the service, which runs it durably; outputs show the last run and the next.
// Order: inputs/outputs → check → diff → create → read → update → delete → the program-side class.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { broadcastMetricsJobOptionsSchema, DATA_EXPORT_DATASETS, EXPORT_KINDS, firstRun, type DataExportDataset, type ExportKind } from "../domain/index.ts";
import type { AppRef, ExportJobBody, ExportJobResult } from "../client/client.ts";
import { clientFor, settings } from "./settings.ts";
import { resolveApp, zodFailures } from "./checks.ts";
import { PushplaneResource } from "./stub.ts";
import { isUnknown } from "./unknown.ts";

export interface ExportJobInputs {
  owner: string;
  app: string;
  kind: ExportKind;
  /** Cron (UTC); absent: run once, right after creation. */
  schedule?: string;
  containerSasUrl: string;
  prefix: string;
  /** segment_export only: which audience, how packed, which fields, whom to tell. */
  segment?: { segmentId: string; format: "zip" | "gzip"; fields?: string[]; callbackEndpoint?: string };
  /** raw_event_export only: the last `windowDays` (1–7) before each run, optionally only some events. */
  rawEvents?: { windowDays: number; eventNames?: string[] };
  /** broadcast_metrics_export only: the CloudKit report for the last `windowDays` (1–30), ending yesterday. */
  broadcastMetrics?: { bundleId: string; dataset: DataExportDataset; audience?: string; windowDays: number };
}
export interface ExportJobOutputs extends ExportJobInputs {
  jobId: string;
  nextRunTime: string | null;
  lastRunId: string | null;
  lastStatus: string | null;
}

const inputSchema = z.object({
  owner: z.string().min(1).optional(),
  app: z.string().min(1).optional(),
  kind: z.enum(EXPORT_KINDS),
  schedule: z.string().min(1).optional(),
  containerSasUrl: z.string().refine((v) => isUnknown(v) || URL.canParse(v), "must be a container SAS URL"),
  prefix: z.string().regex(/^([A-Za-z0-9._-]+\/)*$/, "must be empty or path segments ending with '/'").default(""),
  segment: z
    .object({
      segmentId: z.string().min(1),
      format: z.enum(["zip", "gzip"]).default("zip"),
      fields: z.array(z.string()).optional(),
      callbackEndpoint: z.string().optional(),
    })
    .strict()
    .optional(),
  rawEvents: z
    .object({ windowDays: z.number().int().min(1).max(7).default(1), eventNames: z.array(z.string().min(1)).optional() })
    .strict()
    .optional(),
  broadcastMetrics: z
    .object({
      bundleId: z.string().min(1),
      dataset: z.enum(DATA_EXPORT_DATASETS).default("broadcast_application_metrics"),
      audience: z.string().min(1).optional(),
      windowDays: z.number().int().default(1),
    })
    .strict()
    .optional(),
});

/** The service's options for a broadcast-metrics job (CloudKit names a channel by base64 id). */
const broadcastOptions = (metrics: NonNullable<ExportJobInputs["broadcastMetrics"]>) => ({
  bundle_id: metrics.bundleId,
  dataset: metrics.dataset,
  window_days: metrics.windowDays,
  ...(metrics.audience ? { channel_id: Buffer.from(metrics.audience, "utf8").toString("base64") } : {}),
});

async function check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<ExportJobInputs>> {
  const parsed = inputSchema.safeParse(news);
  if (!parsed.success) return { failures: zodFailures(parsed.error) };
  const given = parsed.data;
  const failures: pulumi.dynamic.CheckFailure[] = [];
  if (given.schedule) {
    const next = firstRun(given.schedule, new Date());
    if ("problem" in next) failures.push({ property: "schedule", reason: `schedule: ${next.problem}` });
  }
  if (given.kind === "segment_export" && !given.segment) failures.push({ property: "segment", reason: "segment is required for a segment_export: which audience to export ({ segmentId })" });
  if (given.kind !== "segment_export" && given.segment) failures.push({ property: "segment", reason: `segment applies to segment_export only, not ${given.kind}` });
  if (given.kind !== "raw_event_export" && given.rawEvents) failures.push({ property: "rawEvents", reason: `rawEvents applies to raw_event_export only, not ${given.kind}` });
  if (given.kind !== "broadcast_metrics_export" && given.broadcastMetrics) {
    failures.push({ property: "broadcastMetrics", reason: `broadcastMetrics applies to broadcast_metrics_export only, not ${given.kind}` });
  }
  if (given.kind === "broadcast_metrics_export") {
    if (!given.broadcastMetrics) failures.push({ property: "broadcastMetrics", reason: "broadcastMetrics is required for a broadcast_metrics_export: at least { bundleId }" });
    else {
      // The service's own rules (seeds: CloudKit broadcast-metrics export), in the program's field names.
      const options = broadcastMetricsJobOptionsSchema.safeParse(broadcastOptions(given.broadcastMetrics));
      const field: Record<string, string> = { window_days: "windowDays", channel_id: "audience", bundle_id: "bundleId", dataset: "dataset" };
      for (const issue of options.error?.issues ?? []) {
        const name = field[String(issue.path[0])] ?? String(issue.path[0]);
        const message = issue.message.replace("base64 of the channel's audience name", "the channel's audience name");
        failures.push({ property: "broadcastMetrics", reason: `broadcastMetrics.${name}: ${message}` });
      }
    }
  }
  const { owner, app } = await resolveApp(given, failures);
  if (failures.length > 0) return { failures };
  return {
    inputs: {
      owner,
      app,
      kind: given.kind,
      ...(given.schedule ? { schedule: given.schedule } : {}),
      containerSasUrl: given.containerSasUrl,
      prefix: given.prefix,
      ...(given.segment ? { segment: given.segment } : {}),
      ...(given.kind === "raw_event_export" ? { rawEvents: given.rawEvents ?? { windowDays: 1 } } : {}),
      ...(given.broadcastMetrics ? { broadcastMetrics: given.broadcastMetrics } : {}),
    },
  };
}

async function diff(_id: string, olds: ExportJobOutputs, news: ExportJobInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = (["owner", "app"] as const).filter((field) => olds[field] !== news[field]);
  const changes =
    replaces.length > 0 ||
    olds.kind !== news.kind ||
    (olds.schedule ?? "") !== (news.schedule ?? "") ||
    olds.containerSasUrl !== news.containerSasUrl ||
    olds.prefix !== news.prefix ||
    JSON.stringify(olds.segment ?? null) !== JSON.stringify(news.segment ?? null) ||
    JSON.stringify(olds.rawEvents ?? null) !== JSON.stringify(news.rawEvents ?? null) ||
    JSON.stringify(olds.broadcastMetrics ?? null) !== JSON.stringify(news.broadcastMetrics ?? null);
  return { changes, replaces: [...replaces], deleteBeforeReplace: false };
}

const body = (inputs: ExportJobInputs): ExportJobBody => ({
  kind: inputs.kind,
  ...(inputs.segment
    ? {
        options: {
          segment_id: inputs.segment.segmentId,
          output_format: inputs.segment.format,
          ...(inputs.segment.fields ? { fields_to_export: inputs.segment.fields } : {}),
          ...(inputs.segment.callbackEndpoint ? { callback_endpoint: inputs.segment.callbackEndpoint } : {}),
        },
      }
    : {}),
  ...(inputs.rawEvents ? { options: { window_days: inputs.rawEvents.windowDays, ...(inputs.rawEvents.eventNames ? { event_names: inputs.rawEvents.eventNames } : {}) } } : {}),
  ...(inputs.broadcastMetrics ? { options: broadcastOptions(inputs.broadcastMetrics) } : {}),
  ...(inputs.schedule ? { schedule: inputs.schedule } : {}),
  blob_container_sas_uri: inputs.containerSasUrl,
  ...(inputs.prefix ? { prefix: inputs.prefix } : {}),
});

const outputsFrom = (inputs: ExportJobInputs, job: ExportJobResult): ExportJobOutputs => ({
  ...inputs,
  jobId: job.id,
  nextRunTime: job.next_run_time,
  lastRunId: job.last_run?.export_id ?? null,
  lastStatus: job.last_run?.status ?? null,
});

function parseId(id: string): AppRef & { jobId: string } {
  const [owner, app, jobId, ...rest] = id.split("/");
  if (!owner || !app || !jobId || rest.length > 0) throw new Error(`'${id}' is not an export job id: expected owner/app/job-id`);
  return { owner, app, jobId };
}

async function create(inputs: ExportJobInputs): Promise<pulumi.dynamic.CreateResult<ExportJobOutputs>> {
  const job = await clientFor(inputs).createExportJob(inputs, body(inputs));
  return { id: `${inputs.owner}/${inputs.app}/${job.id}`, outs: outputsFrom(inputs, job) };
}

async function read(id: string, props?: ExportJobOutputs): Promise<pulumi.dynamic.ReadResult<ExportJobOutputs>> {
  const ref = parseId(id);
  const job = await clientFor(ref).getExportJob(ref, ref.jobId);
  if (!job || !props) return {};
  return { id, props: outputsFrom(props, job) };
}

async function update(id: string, _olds: ExportJobOutputs, news: ExportJobInputs): Promise<pulumi.dynamic.UpdateResult<ExportJobOutputs>> {
  const ref = parseId(id);
  return { outs: outputsFrom(news, await clientFor(ref).updateExportJob(ref, ref.jobId, body(news))) };
}

async function remove(id: string): Promise<void> {
  const ref = parseId(id);
  await clientFor(ref).deleteExportJob(ref, ref.jobId);
}

export const exportJobProvider = { check, diff, create, read, update, delete: remove };

export interface ExportJobArgs {
  kind: pulumi.Input<ExportKind>;
  /** Cron expression in UTC, e.g. "0 2 * * *"; leave out for a one-off export that runs right away. */
  schedule?: pulumi.Input<string>;
  /** A container SAS URL with create and write permission (e.g. a ContainerSasToken's sasUrl). */
  containerSasUrl: pulumi.Input<string>;
  /** Blob name prefix ("nightly/"). */
  prefix?: pulumi.Input<string>;
  /** For kind raw_event_export: the last windowDays (1–7, default 1) before each run, and which events. */
  rawEvents?: pulumi.Input<{ windowDays?: pulumi.Input<number>; eventNames?: pulumi.Input<string[]> }>;
  /** For kind segment_export: the audience to export (Braze's segment) and how. */
  segment?: pulumi.Input<{ segmentId: pulumi.Input<string>; format?: pulumi.Input<"zip" | "gzip">; fields?: pulumi.Input<string[]>; callbackEndpoint?: pulumi.Input<string> }>;
  /**
   * For kind broadcast_metrics_export: the CloudKit-style CSV (per day: subscribers, sent, delivered,
   * opened) for the last windowDays (1–30, default 1) ending yesterday; channel metrics name the
   * channel's audience.
   */
  broadcastMetrics?: pulumi.Input<{
    bundleId: pulumi.Input<string>;
    dataset?: pulumi.Input<DataExportDataset>;
    audience?: pulumi.Input<string>;
    windowDays?: pulumi.Input<number>;
  }>;
  owner?: pulumi.Input<string>;
  app?: pulumi.Input<string>;
}

export class ExportJob extends PushplaneResource {
  declare readonly jobId: pulumi.Output<string>;
  declare readonly nextRunTime: pulumi.Output<string | null>;
  declare readonly lastRunId: pulumi.Output<string | null>;
  declare readonly lastStatus: pulumi.Output<string | null>;

  constructor(name: string, args: ExportJobArgs, opts?: pulumi.CustomResourceOptions) {
    const props = { ...args, containerSasUrl: pulumi.secret(args.containerSasUrl), jobId: undefined, nextRunTime: undefined, lastRunId: undefined, lastStatus: undefined };
    super("ExportJob", name, props, opts, ["containerSasUrl"]);
  }
}
