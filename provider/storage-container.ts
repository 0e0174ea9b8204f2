// The StorageContainer resource: a private blob container for exports, with the retention period
// (days) the service honours when it cleans up export blobs: kept in the container's metadata and
// registered with the service together with a list+delete SAS granted for that purpose only,
// renewed by `up` a week before it expires.
// Order: inputs/outputs → check → diff → create → read → update → delete → the program-side class.
import { ContainerSASPermissions, SASProtocol } from "@azure/storage-blob";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { containerMetadataSchema, containerNameSchema, RETENTION_METADATA_KEY, STORAGE_DEFAULTS } from "../domain/index.ts";
import { resolveApp, zodFailures } from "./checks.ts";
import { clientFor, settings } from "./settings.ts";
import { accountName, connectionStringSchema, container } from "./storage.ts";
import { PushplaneResource, secretIfGiven } from "./stub.ts";
import { isUnknown } from "./unknown.ts";

export interface StorageContainerInputs {
  owner: string;
  app: string;
  name: string;
  retentionDays: number;
  /** The container's own metadata (besides the retention, which pushplane keeps in it). */
  metadata: Record<string, string>;
  adopt: boolean;
  /** The account, when the program passes it (secret); otherwise pushplane:storageConnectionString. */
  storageConnectionString?: string;
}
export interface StorageContainerOutputs extends StorageContainerInputs {
  account: string;
  url: string;
  /** Anything but "none" means someone opened the container to anonymous reads. */
  publicAccess: string;
  /** From then on, `up` renews the service's retention grant. */
  retentionGrantRenewAfter: string;
}

const DAY = 86_400_000;
/** The service's list+delete grant: long enough between ups, renewed a week ahead. */
const GRANT_LIFETIME_DAYS = 30;
const GRANT_RENEW_DAYS = 7;

const inputSchema = z.object({
  owner: z.string().min(1).optional(),
  app: z.string().min(1).optional(),
  name: containerNameSchema,
  retentionDays: z.number().int().min(1).max(3650).default(STORAGE_DEFAULTS.retentionDays),
  metadata: containerMetadataSchema,
  adopt: z.boolean().default(false),
  storageConnectionString: connectionStringSchema,
});

async function check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<StorageContainerInputs>> {
  const parsed = inputSchema.safeParse(news);
  if (!parsed.success) return { failures: zodFailures(parsed.error) };
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const { owner, app } = await resolveApp(parsed.data, failures);
  if (failures.length > 0) return { failures };
  return { inputs: { ...parsed.data, owner, app } };
}

async function diff(_id: string, olds: StorageContainerOutputs, news: StorageContainerInputs): Promise<pulumi.dynamic.DiffResult> {
  // Another account is another container; a rotated key for the same account is an in-place update.
  // (Unknown until up means the account itself is being created or replaced.)
  const otherAccount =
    (olds.storageConnectionString ?? "") !== (news.storageConnectionString ?? "") &&
    (isUnknown(news.storageConnectionString) || olds.account !== accountName(news.storageConnectionString));
  const replaces = [...(olds.name !== news.name ? ["name"] : []), ...(otherAccount ? ["storageConnectionString"] : [])];
  const changes =
    replaces.length > 0 ||
    olds.retentionDays !== news.retentionDays ||
    !sameMetadata(olds.metadata ?? {}, news.metadata) ||
    olds.owner !== news.owner ||
    olds.app !== news.app ||
    (olds.storageConnectionString ?? "") !== (news.storageConnectionString ?? "") ||
    (olds.publicAccess ?? "none") !== "none" ||
    Date.now() >= Date.parse(olds.retentionGrantRenewAfter ?? "1970-01-01T00:00:00Z");
  return { changes, replaces, deleteBeforeReplace: false };
}

const metadata = (inputs: StorageContainerInputs) => ({ ...inputs.metadata, [RETENTION_METADATA_KEY]: String(inputs.retentionDays) });
const sorted = (entries: Record<string, string>) => JSON.stringify(Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : 1)));
const sameMetadata = (a: Record<string, string>, b: Record<string, string>) => sorted(a) === sorted(b);

/** Grants the service list+delete on this container and registers the retention; returns when to renew. */
async function registerRetention(inputs: StorageContainerInputs): Promise<string> {
  const now = Date.now();
  const client = container(inputs.name, inputs.storageConnectionString);
  const grant = await client.generateSasUrl({
    permissions: ContainerSASPermissions.parse("dl"),
    startsOn: new Date(now - 5 * 60_000),
    expiresOn: new Date(now + GRANT_LIFETIME_DAYS * DAY),
    protocol: client.url.startsWith("https:") ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
  });
  await clientFor(inputs).putRetentionPolicy(inputs, grant, inputs.retentionDays);
  return new Date(now + (GRANT_LIFETIME_DAYS - GRANT_RENEW_DAYS) * DAY).toISOString();
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
  const retentionGrantRenewAfter = await registerRetention(inputs);
  return { id: `${account}/${inputs.name}`, outs: { ...inputs, account, url: client.url, publicAccess: "none", retentionGrantRenewAfter } };
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
    props: { ...inputs, account: accountName(connectionString), url: client.url, publicAccess: properties.blobPublicAccess ?? "none", retentionGrantRenewAfter },
    inputs,
  } as pulumi.dynamic.ReadResult<StorageContainerOutputs>;
}

async function update(_id: string, olds: StorageContainerOutputs, news: StorageContainerInputs): Promise<pulumi.dynamic.UpdateResult<StorageContainerOutputs>> {
  const client = container(news.name, news.storageConnectionString);
  // Setting no access policy also closes a container someone opened to anonymous reads.
  await client.setAccessPolicy(undefined);
  await client.setMetadata(metadata(news));
  if (olds.owner && (olds.owner !== news.owner || olds.app !== news.app)) await clientFor(olds).deleteRetentionPolicy(olds, client.url);
  const retentionGrantRenewAfter = await registerRetention(news);
  return { outs: { ...news, account: accountName(news.storageConnectionString), url: client.url, publicAccess: "none", retentionGrantRenewAfter } };
}

async function remove(id: string, props: StorageContainerOutputs): Promise<void> {
  const client = container(id.split("/").at(-1)!, props.storageConnectionString);
  if (props.owner) await clientFor(props).deleteRetentionPolicy(props, client.url);
  await client.deleteIfExists();
}

export const storageContainerProvider = { check, diff, create, read, update, delete: remove };

export interface StorageContainerArgs {
  /** The container name (Azure rules: 3–63 lowercase letters, digits, hyphens); defaults to the resource name. */
  name?: pulumi.Input<string>;
  /** Export blobs older than this many days are deleted by the service (default 30). */
  retentionDays?: pulumi.Input<number>;
  /** The container's own metadata: lowercase names, ASCII values (e.g. { team: "crm", classification: "personal" }). */
  metadata?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  adopt?: pulumi.Input<boolean>;
  /**
   * The storage account's connection string, when the program creates the account (made secret
   * whatever is passed); default pushplane:storageConnectionString.
   */
  storageConnectionString?: pulumi.Input<string>;
  /** The app whose service enforces the retention; defaults to pushplane:owner / pushplane:app. */
  owner?: pulumi.Input<string>;
  app?: pulumi.Input<string>;
}

export class StorageContainer extends PushplaneResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly retentionDays: pulumi.Output<number>;
  declare readonly metadata: pulumi.Output<Record<string, string>>;
  declare readonly account: pulumi.Output<string>;
  declare readonly url: pulumi.Output<string>;
  declare readonly publicAccess: pulumi.Output<string>;

  constructor(name: string, args: StorageContainerArgs = {}, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      name: args.name ?? name,
      storageConnectionString: secretIfGiven(args.storageConnectionString),
      account: undefined,
      url: undefined,
      publicAccess: undefined,
      retentionGrantRenewAfter: undefined,
    };
    super("StorageContainer", name, props, opts, ["storageConnectionString"]);
  }
}
