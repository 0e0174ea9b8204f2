// The ExportConfiguration resource: App Center's continuous export (swagger ExportConfigurations_*)
// of the app's analytics events into a storage account, declared. The account's connection string is
// a secret input (or the stack's pushplane:storageConnectionString); the service never answers it back.
// Declared in domain/declarations/exports.ts; here: the account check, create, read, update, delete.
import type * as pulumi from "@pulumi/pulumi";
import { exportConfigurationResource, type EXPORT_ENTITIES } from "../domain/index.ts";
import type { AppRef, ExportConfigurationResult } from "../client/client.ts";
import { implement, type Checked, type Stated } from "./declared.ts";
import { clientFor, settings } from "./settings.ts";
import { noStorageAccount } from "./storage.ts";

type ExportEntity = (typeof EXPORT_ENTITIES)[number];
export type ExportConfigurationInputs = Checked<typeof exportConfigurationResource>;
export type ExportConfigurationOutputs = Stated<typeof exportConfigurationResource>;

/** How long `up` waits for the first export to tell whether the storage account can be written. */
const FIRST_RUN_WAIT_MS = 60_000;

/** An account is needed: the resource's own, or the stack's. */
async function complete(inputs: ExportConfigurationInputs): Promise<pulumi.dynamic.CheckFailure[]> {
  if (inputs.storageConnectionString !== undefined || settings().storageConnectionString) return [];
  return [noStorageAccount];
}

/** An Invalid configuration is tried again on the next up. */
const diffMore = (olds: ExportConfigurationOutputs, news: ExportConfigurationInputs) => ({ changes: news.enabled && olds.state === "Invalid" });

function parseId(id: string): AppRef & { configurationId: string } {
  const [owner, app, configurationId, ...rest] = id.split("/");
  if (!owner || !app || !configurationId || rest.length > 0) throw new Error(`'${id}' is not an export configuration id: expected owner/app/configuration-id`);
  return { owner, app, configurationId };
}

const connectionString = (inputs: ExportConfigurationInputs): string => inputs.storageConnectionString ?? settings().storageConnectionString!;

const outputsFrom = (inputs: ExportConfigurationInputs, found: ExportConfigurationResult): ExportConfigurationOutputs => ({
  ...inputs,
  configurationId: found.id,
  state: found.state,
  stateInfo: found.state_info ?? null,
  lastRunTime: found.last_run_time ?? null,
});

/** The configuration once its first export has run (or the wait is over). */
async function settled(ref: AppRef, id: string): Promise<ExportConfigurationResult> {
  const deadline = Date.now() + FIRST_RUN_WAIT_MS;
  for (let interval = 50; ; interval = Math.min(interval * 2, 2_000)) {
    const found = await clientFor(ref).getExportConfiguration(ref, id);
    if (!found) throw new Error(`export configuration '${id}' disappeared from app '${ref.owner}/${ref.app}' while it was being set up`);
    if (found.state !== "Pending" || Date.now() >= deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

async function create(inputs: ExportConfigurationInputs): Promise<pulumi.dynamic.CreateResult<ExportConfigurationOutputs>> {
  const client = clientFor(inputs);
  const created = await client.createExportConfiguration(inputs, connectionString(inputs), inputs.exportEntities);
  if (!inputs.enabled) await client.setExportConfigurationEnabled(inputs, created.id, false);
  const found = inputs.enabled ? await settled(inputs, created.id) : created;
  if (found.state === "Invalid") {
    // Nothing half-made is left behind: the service forgets it, and up fails with the reason.
    await client.deleteExportConfiguration(inputs, created.id);
    throw new Error(`the continuous export cannot start: ${found.state_info ?? "the storage account refused it"}`);
  }
  const final = inputs.enabled ? found : ((await client.getExportConfiguration(inputs, created.id)) ?? created);
  return { id: `${inputs.owner}/${inputs.app}/${created.id}`, outs: outputsFrom(inputs, final) };
}

async function read(id: string, props?: ExportConfigurationOutputs): Promise<pulumi.dynamic.ReadResult<ExportConfigurationOutputs>> {
  const ref = parseId(id);
  const found = await clientFor(ref).getExportConfiguration(ref, ref.configurationId);
  if (!found || found.state === "Deleted" || !props) return {};
  const exportEntities = [...(found.export_entities as ExportEntity[])].sort();
  // Disabled out of band reads as enabled: false, so the next up turns it back on.
  const inputs: ExportConfigurationInputs = { ...props, enabled: found.state !== "Disabled", exportEntities };
  return { id, props: outputsFrom(inputs, found), inputs } as pulumi.dynamic.ReadResult<ExportConfigurationOutputs>;
}

async function update(id: string, olds: ExportConfigurationOutputs, news: ExportConfigurationInputs): Promise<pulumi.dynamic.UpdateResult<ExportConfigurationOutputs>> {
  const ref = parseId(id);
  const client = clientFor(ref);
  const newAccount = (olds.storageConnectionString ?? "") !== (news.storageConnectionString ?? "");
  const newEntities = JSON.stringify(olds.exportEntities) !== JSON.stringify(news.exportEntities);
  if (newAccount || newEntities) {
    await client.patchExportConfiguration(ref, ref.configurationId, {
      ...(newAccount ? { connection_string: connectionString(news) } : {}),
      ...(newEntities ? { export_entities: news.exportEntities } : {}),
    });
  }
  if (olds.enabled !== news.enabled || (news.enabled && olds.state === "Invalid")) await client.setExportConfigurationEnabled(ref, ref.configurationId, news.enabled);
  const found = news.enabled ? await settled(ref, ref.configurationId) : await client.getExportConfiguration(ref, ref.configurationId);
  if (!found) throw new Error(`export configuration '${ref.configurationId}' is gone from app '${ref.owner}/${ref.app}': run pulumi refresh`);
  if (found.state === "Invalid") throw new Error(`the continuous export cannot run: ${found.state_info ?? "the storage account refused it"}`);
  return { outs: outputsFrom(news, found) };
}

async function remove(id: string): Promise<void> {
  const ref = parseId(id);
  await clientFor(ref).deleteExportConfiguration(ref, ref.configurationId);
}

export const exportConfigurationProvider = implement(exportConfigurationResource, { complete, diffMore, create, read, update, delete: remove });
