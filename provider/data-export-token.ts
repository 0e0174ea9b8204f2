// The DataExportToken resource (seeds: CloudKit broadcast-metrics export): a token for one app's
// broadcast-metrics dataset, expiring at most six months ahead. Its value exists once, in the
// create answer: it becomes a secret output, encrypted in state. Any change makes a new token.
// Declared in domain/declarations/exports.ts; here: the expiry, create, read, delete.
import type * as pulumi from "@pulumi/pulumi";
import { DATA_EXPORT_TOKEN_DEFAULT_LIFETIME_DAYS, dataExportTokenResource, tokenExpiryProblem } from "../domain/index.ts";
import { implement, type Checked, type Stated } from "./declared.ts";
import { clientFor } from "./settings.ts";

export type DataExportTokenInputs = Checked<typeof dataExportTokenResource>;
export type DataExportTokenOutputs = Stated<typeof dataExportTokenResource>;

const DAY = 86_400_000;

/** A new expiry must be within six months; an existing token keeps the expiry it was created with. */
async function complete(given: DataExportTokenInputs, olds: Partial<DataExportTokenOutputs>): Promise<pulumi.dynamic.CheckFailure[] | DataExportTokenInputs> {
  const failures: pulumi.dynamic.CheckFailure[] = [];
  if (given.expiresAt !== undefined && given.expiresAt !== olds.expiresAt) {
    const problem = tokenExpiryProblem(given.expiresAt);
    if (problem) failures.push({ property: "expiresAt", reason: `expiresAt ${problem}` });
  }
  if (given.lifetimeDays !== undefined && given.lifetimeDays !== olds.lifetimeDays) {
    const problem = tokenExpiryProblem(new Date(Date.now() + given.lifetimeDays * DAY).toISOString());
    if (problem) failures.push({ property: "lifetimeDays", reason: `lifetimeDays of ${given.lifetimeDays}: the expiry ${problem}` });
  }
  if (failures.length > 0) return failures;
  return given.expiresAt === undefined ? { ...given, lifetimeDays: given.lifetimeDays ?? DATA_EXPORT_TOKEN_DEFAULT_LIFETIME_DAYS } : given;
}

function parseId(id: string) {
  const [owner, app, tokenId, ...rest] = id.split("/");
  if (!owner || !app || !tokenId || rest.length > 0) throw new Error(`'${id}' is not a data export token id: expected owner/app/token-id`);
  return { owner, app, tokenId };
}

async function create(inputs: DataExportTokenInputs): Promise<pulumi.dynamic.CreateResult<DataExportTokenOutputs>> {
  const created = await clientFor(inputs).createDataExportToken(inputs, {
    name: inputs.name,
    ...(inputs.description ? { description: inputs.description } : {}),
    bundle_id: inputs.bundleId,
    dataset: inputs.dataset,
    expires_at: inputs.expiresAt ?? new Date(Date.now() + (inputs.lifetimeDays ?? DATA_EXPORT_TOKEN_DEFAULT_LIFETIME_DAYS) * DAY).toISOString(),
  });
  if (!created.token) throw new Error("the service created the token but did not return its value");
  return { id: `${inputs.owner}/${inputs.app}/${created.id}`, outs: { ...inputs, tokenId: created.id, token: created.token, expiresOn: created.expires_at } };
}

/** Gone once revoked or expired; the value itself is never read back. */
async function read(id: string, props?: DataExportTokenOutputs): Promise<pulumi.dynamic.ReadResult<DataExportTokenOutputs>> {
  const ref = parseId(id);
  const found = await clientFor(ref).getDataExportToken(ref, ref.tokenId);
  if (!found || !props) return {};
  return { id, props };
}

async function remove(id: string): Promise<void> {
  const ref = parseId(id);
  await clientFor(ref).deleteDataExportToken(ref, ref.tokenId);
}

export const dataExportTokenProvider = implement(dataExportTokenResource, { complete, create, read, delete: remove });
