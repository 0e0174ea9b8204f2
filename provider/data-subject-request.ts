// The DataSubjectRequest resource: a data-subject request in the service (service/dsr.ts). Declared in
// domain/declarations/dsr.ts; here: create (which waits, a while, for the request to end), read,
// delete (which forgets the resource and keeps the request and its receipt in the service).
import type * as pulumi from "@pulumi/pulumi";
import { dataSubjectRequestResource, type DsrResult } from "../domain/index.ts";
import type { AppRef } from "../client/client.ts";
import { implement, type Checked, type Stated } from "./declared.ts";
import { clientFor } from "./settings.ts";

export type DataSubjectRequestInputs = Checked<typeof dataSubjectRequestResource>;
export type DataSubjectRequestOutputs = Stated<typeof dataSubjectRequestResource>;

/** How long `up` waits for the request to end before it leaves it running (refresh shows how it ended). */
const COMPLETION_WAIT_MS = 60_000;

const outputsFrom = (inputs: DataSubjectRequestInputs, request: DsrResult, subjectReturned?: number): DataSubjectRequestOutputs => ({
  ...inputs,
  requestId: request.id,
  state: request.state,
  subjectHashes: request.subject,
  receipt: request.receipt,
  dueAt: request.due_at,
  ...(subjectReturned !== undefined ? { subjectReturned } : {}),
});

/** The subject as the service takes it, from the (secret) inputs. */
const subjectOf = (inputs: DataSubjectRequestInputs) => ({
  ...(inputs.userId !== undefined ? { user_id: inputs.userId } : {}),
  ...(inputs.installIds !== undefined ? { install_ids: inputs.installIds } : {}),
  ...(inputs.customProperties !== undefined ? { custom_properties: inputs.customProperties } : {}),
});

function parseId(id: string): AppRef & { requestId: string } {
  const [owner, app, requestId, ...rest] = id.split("/");
  if (!owner || !app || !requestId || rest.length > 0) throw new Error(`'${id}' is not a data-subject request id: expected owner/app/request-id`);
  return { owner, app, requestId };
}

async function create(inputs: DataSubjectRequestInputs): Promise<pulumi.dynamic.CreateResult<DataSubjectRequestOutputs>> {
  const client = clientFor(inputs);
  let request = await client.createDataSubjectRequest(inputs, {
    kind: inputs.kind,
    subject: subjectOf(inputs),
    ...(inputs.containerSasUrl ? { blob_container_sas_uri: inputs.containerSasUrl } : {}),
  });
  const deadline = Date.now() + COMPLETION_WAIT_MS;
  for (let interval = 100; (request.state === "Pending" || request.state === "Running") && Date.now() < deadline; interval = Math.min(interval * 2, 2_000)) {
    await new Promise((resolve) => setTimeout(resolve, interval));
    request = (await client.getDataSubjectRequest(inputs, request.id)) ?? request;
  }
  if (request.state === "Failed") throw new Error(`the data-subject request ${request.id} failed: ${request.error ?? "no reason given"}`);
  return { id: `${inputs.owner}/${inputs.app}/${request.id}`, outs: outputsFrom(inputs, request) };
}

/**
 * The request as the service has it; a completed erasure also has its subject checked again (the
 * identifiers, held secret in state, sent as at create: the service compares them with its keyed hashes).
 */
async function read(id: string, props?: DataSubjectRequestOutputs): Promise<pulumi.dynamic.ReadResult<DataSubjectRequestOutputs>> {
  const ref = parseId(id);
  const client = clientFor(ref);
  const request = await client.getDataSubjectRequest(ref, ref.requestId);
  if (!request || !props) return {};
  const recheck = request.kind === "erasure" && request.state === "Completed" ? await client.recheckDataSubjectRequest(ref, ref.requestId, subjectOf(props)) : undefined;
  return { id, props: outputsFrom(props, request, recheck?.devices) };
}

/** An erasure whose subject has come back (seen at refresh) is made again: a new request, which erases what came back. */
function diffMore(olds: DataSubjectRequestOutputs): { changes: boolean; replaces: string[] } {
  const returned = (olds.subjectReturned ?? 0) > 0;
  return { changes: returned, replaces: returned ? ["subjectReturned"] : [] };
}

/** A request is a record of what was done: the service keeps it; removing the resource restores nothing. */
async function remove(): Promise<void> {}

export const dataSubjectRequestProvider = implement(dataSubjectRequestResource, { create, read, diffMore, delete: remove });
