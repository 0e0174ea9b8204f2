// The ExportJob resource: a one-off or cron-scheduled export into a container through a SAS URL.
// The schedule lives in the service, which runs it durably; outputs show the last run and the next.
// Declared in domain/declarations/exports.ts; here: create, read, update, delete.
import type * as pulumi from "@pulumi/pulumi";
import { brazeSeriesJobOptions, broadcastJobOptions, exportJobResource } from "../domain/index.ts";
import type { AppRef, ExportJobBody, ExportJobResult } from "../client/client.ts";
import { clientFor } from "./settings.ts";
import { implement, type Checked, type Stated } from "./declared.ts";

export type ExportJobInputs = Checked<typeof exportJobResource>;
export type ExportJobOutputs = Stated<typeof exportJobResource>;

/** A raw event export states its window, so the state shows what runs (the service's default too). */
async function complete(job: ExportJobInputs): Promise<ExportJobInputs> {
  return job.kind === "raw_event_export" && !job.rawEvents ? { ...job, rawEvents: { windowDays: 1 } } : job;
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
  ...(inputs.usersById
    ? { options: { external_ids: inputs.usersById.externalIds, output_format: inputs.usersById.format, ...(inputs.usersById.fields ? { fields_to_export: inputs.usersById.fields } : {}) } }
    : {}),
  ...(inputs.rawEvents ? { options: { window_days: inputs.rawEvents.windowDays, ...(inputs.rawEvents.eventNames ? { event_names: inputs.rawEvents.eventNames } : {}) } } : {}),
  ...(inputs.broadcastMetrics ? { options: broadcastJobOptions(inputs.broadcastMetrics) } : {}),
  ...(inputs.brazeSeries ? { options: brazeSeriesJobOptions(inputs.brazeSeries) } : {}),
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
  return { id, props: outputsFrom(asTheServiceHolds(props, job), job) };
}

/**
 * The users a users-by-id job names, as the service holds them: an erasure takes its subject out
 * there, and a refresh must show that (drift), not the list the state remembers.
 */
function asTheServiceHolds(props: ExportJobOutputs, job: ExportJobResult): ExportJobOutputs {
  const held = job.options.external_ids;
  if (!props.usersById || !Array.isArray(held)) return props;
  return { ...props, usersById: { ...props.usersById, externalIds: held.filter((id): id is string => typeof id === "string") } };
}

async function update(id: string, _olds: ExportJobOutputs, news: ExportJobInputs): Promise<pulumi.dynamic.UpdateResult<ExportJobOutputs>> {
  const ref = parseId(id);
  return { outs: outputsFrom(news, await clientFor(ref).updateExportJob(ref, ref.jobId, body(news))) };
}

async function remove(id: string): Promise<void> {
  const ref = parseId(id);
  await clientFor(ref).deleteExportJob(ref, ref.jobId);
}

export const exportJobProvider = implement(exportJobResource, { complete, create, read, update, delete: remove });
