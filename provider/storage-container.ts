// The StorageContainer resource: a private blob container for exports, with the retention period
// (days) the service honours when it cleans up export blobs: kept in the container's metadata and
// registered with the service together with a SAS granted for the service's upkeep only (retention,
// and erasures rewriting exported blobs: CONTAINER_GRANT_PERMISSIONS), renewed by `up` a week before it expires.
// Declared in domain/declarations/storage.ts; here: what diff adds, create, read, update, delete.
import { ContainerSASPermissions, SASProtocol } from "@azure/storage-blob";
import type * as pulumi from "@pulumi/pulumi";
import { canonical, CONTAINER_GRANT_PERMISSIONS, RETENTION_METADATA_KEY, STORAGE_DEFAULTS, storageContainerResource } from "../domain/index.ts";
import { sayOnce } from "./checks.ts";
import { implement, type Checked, type Stated } from "./declared.ts";
import { clientFor, settings } from "./settings.ts";
import { accountName, container, noStorageAccount } from "./storage.ts";
import { isUnknown } from "./unknown.ts";

export type StorageContainerInputs = Checked<typeof storageContainerResource>;
export type StorageContainerOutputs = Stated<typeof storageContainerResource>;

const DAY = 86_400_000;
/** The service's grant: long enough between ups, renewed a week ahead. */
const GRANT_LIFETIME_DAYS = 30;
const GRANT_RENEW_DAYS = 7;

/**
 * At preview, a create over a container that exists: refused here rather than at `up` (set adopt),
 * or said to adopt it, with what in it changes. A storage account that cannot answer is said, and
 * preview goes on; none configured at all fails here, naming the input and the config key.
 */
async function complete(inputs: StorageContainerInputs, olds: Partial<StorageContainerOutputs>, pending: ReadonlySet<string>): Promise<pulumi.dynamic.CheckFailure[]> {
  if (!inputs.storageConnectionString && !settings().storageConnectionString) {
    return [noStorageAccount];
  }
  if (olds.name !== undefined || pending.has("name") || pending.has("storageConnectionString")) return [];
  let existing: { metadata?: Record<string, string>; blobPublicAccess?: string };
  try {
    existing = await container(inputs.name, inputs.storageConnectionString, { quick: true }).getProperties();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) sayOnce(`container '${inputs.name}': not checked for an existing one (${(error as Error).message.split("\n")[0]})`);
    return [];
  }
  const where = `container '${inputs.name}' in account '${accountName(inputs.storageConnectionString)}'`;
  if (!inputs.adopt) return [{ property: "adopt", reason: `${where} already exists; to manage it, set adopt: true on the resource (it then takes the metadata and retention declared here)` }];
  const { [RETENTION_METADATA_KEY]: retention, ...own } = existing.metadata ?? {};
  const changes = [
    [retention ?? "(none)", String(inputs.retentionDays), "retentionDays"],
    [canonical(own), canonical(inputs.metadata), "metadata"],
    [existing.blobPublicAccess ?? "none", "none", "publicAccess"],
  ].flatMap(([was, becomes, field]) => (was === becomes ? [] : [`${field} ${was} → ${becomes}`]));
  sayOnce(`${where}: adopts the container that exists (not a new one): ${changes.length === 0 ? "nothing in it changes" : changes.join("; ")}`);
  return [];
}

/** What the inputs do not show: another account (a new container), a container opened to anonymous reads, a grant due for renewal. */
function diffMore(olds: StorageContainerOutputs, news: StorageContainerInputs): { changes: boolean; replaces: string[] } {
  // (Unknown until up means the account itself is being created or replaced.)
  const otherAccount =
    (olds.storageConnectionString ?? "") !== (news.storageConnectionString ?? "") &&
    (isUnknown(news.storageConnectionString) || olds.account !== accountName(news.storageConnectionString));
  return {
    changes:
      (olds.publicAccess ?? "none") !== "none" ||
      Date.now() >= Date.parse(olds.retentionGrantRenewAfter ?? "1970-01-01T00:00:00Z") ||
      // A grant from a version that granted less (list+delete only) is renewed with what this one grants.
      olds.retentionGrantPermissions !== CONTAINER_GRANT_PERMISSIONS,
    replaces: otherAccount ? ["storageConnectionString"] : [],
  };
}

const metadata = (inputs: StorageContainerInputs) => ({ ...inputs.metadata, [RETENTION_METADATA_KEY]: String(inputs.retentionDays) });

/** Grants the service its upkeep permissions on this container and registers the retention; answers when to renew and what it granted. */
async function registerRetention(inputs: StorageContainerInputs): Promise<{ retentionGrantRenewAfter: string; retentionGrantPermissions: string }> {
  const now = Date.now();
  const client = container(inputs.name, inputs.storageConnectionString);
  const grant = await client.generateSasUrl({
    permissions: ContainerSASPermissions.parse(CONTAINER_GRANT_PERMISSIONS),
    startsOn: new Date(now - 5 * 60_000),
    expiresOn: new Date(now + GRANT_LIFETIME_DAYS * DAY),
    protocol: client.url.startsWith("https:") ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
  });
  await clientFor(inputs).putRetentionPolicy(inputs, grant, inputs.retentionDays);
  return { retentionGrantRenewAfter: new Date(now + (GRANT_LIFETIME_DAYS - GRANT_RENEW_DAYS) * DAY).toISOString(), retentionGrantPermissions: CONTAINER_GRANT_PERMISSIONS };
}

async function create(inputs: StorageContainerInputs): Promise<pulumi.dynamic.CreateResult<StorageContainerOutputs>> {
  const client = container(inputs.name, inputs.storageConnectionString);
  const account = accountName(inputs.storageConnectionString);
  // Private: no public access level is ever set.
  const created = await client.createIfNotExists({ metadata: metadata(inputs) });
  if (!created.succeeded) {
    if (!inputs.adopt) throw new Error(`container '${inputs.name}' already exists in account '${account}'; to manage it, set adopt: true on the resource`);
    await client.setAccessPolicy(undefined);
    await client.setMetadata(metadata(inputs));
  }
  let grant: Awaited<ReturnType<typeof registerRetention>>;
  try {
    grant = await registerRetention(inputs);
  } catch (error) {
    // A container this create made is new and empty: removed, so the next `up` creates it again
    // rather than finding one the stack does not know and asking for adopt.
    if (created.succeeded) await client.deleteIfExists().catch(() => undefined);
    throw error;
  }
  return { id: `${account}/${inputs.name}`, outs: { ...inputs, account, url: client.url, publicAccess: "none", ...grant } };
}

async function read(id: string, props?: StorageContainerOutputs): Promise<pulumi.dynamic.ReadResult<StorageContainerOutputs>> {
  const name = id.split("/").at(-1)!;
  const connectionString = props?.storageConnectionString;
  const client = container(name, connectionString);
  let properties;
  try {
    properties = await client.getProperties();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return {};
    throw error;
  }
  const { [RETENTION_METADATA_KEY]: retentionText, ...ownMetadata } = properties.metadata ?? {};
  const retention = Number(retentionText);
  const inputs: StorageContainerInputs = {
    owner: props?.owner ?? "",
    app: props?.app ?? "",
    name,
    retentionDays: Number.isInteger(retention) && retention > 0 ? retention : (props?.retentionDays ?? STORAGE_DEFAULTS.retentionDays),
    metadata: ownMetadata,
    adopt: props?.adopt ?? false,
    ...(connectionString ? { storageConnectionString: connectionString } : {}),
  };
  // A registration removed out of band reads as a grant due for renewal, so the next up restores it.
  const policy = props?.owner ? await clientFor(props).getRetentionPolicy(props, client.url) : undefined;
  const retentionGrantRenewAfter = policy ? (props?.retentionGrantRenewAfter ?? new Date(0).toISOString()) : new Date(0).toISOString();
  return {
    id,
    props: {
      ...inputs,
      account: accountName(connectionString),
      url: client.url,
      publicAccess: properties.blobPublicAccess ?? "none",
      retentionGrantRenewAfter,
      ...(props?.retentionGrantPermissions ? { retentionGrantPermissions: props.retentionGrantPermissions } : {}),
    },
    inputs,
  } as pulumi.dynamic.ReadResult<StorageContainerOutputs>;
}

async function update(_id: string, olds: StorageContainerOutputs, news: StorageContainerInputs): Promise<pulumi.dynamic.UpdateResult<StorageContainerOutputs>> {
  const client = container(news.name, news.storageConnectionString);
  // Setting no access policy also closes a container someone opened to anonymous reads.
  await client.setAccessPolicy(undefined);
  await client.setMetadata(metadata(news));
  if (olds.owner && (olds.owner !== news.owner || olds.app !== news.app)) await clientFor(olds).deleteRetentionPolicy(olds, client.url);
  const grant = await registerRetention(news);
  return { outs: { ...news, account: accountName(news.storageConnectionString), url: client.url, publicAccess: "none", ...grant } };
}

async function remove(id: string, props: StorageContainerOutputs): Promise<void> {
  const client = container(id.split("/").at(-1)!, props.storageConnectionString);
  if (props.owner) await clientFor(props).deleteRetentionPolicy(props, client.url);
  await client.deleteIfExists();
}

export const storageContainerProvider = implement(storageContainerResource, { complete, diffMore, create, read, update, delete: remove });
