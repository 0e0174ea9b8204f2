// The StorageContainer resource: a private blob container for exports, with the retention period
// (days) the service honours when it cleans up export blobs, kept in the container's metadata.
// Order: inputs/outputs → check → diff → create → read → update → delete → the program-side class.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { containerNameSchema, RESOURCE_MODULE, RETENTION_METADATA_KEY, STORAGE_DEFAULTS } from "../domain/index.ts";
import { accountName, container } from "./storage.ts";
import { zodFailures } from "./checks.ts";
import { dynamicProvider } from "./stub.ts";

export interface StorageContainerInputs {
  name: string;
  retentionDays: number;
  adopt: boolean;
}
export interface StorageContainerOutputs extends StorageContainerInputs {
  account: string;
  url: string;
  /** Anything but "none" means someone opened the container to anonymous reads. */
  publicAccess: string;
}

const inputSchema = z.object({
  name: containerNameSchema,
  retentionDays: z.number().int().min(1).max(3650).default(STORAGE_DEFAULTS.retentionDays),
  adopt: z.boolean().default(false),
});

async function check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<StorageContainerInputs>> {
  const parsed = inputSchema.safeParse(news);
  if (!parsed.success) return { failures: zodFailures(parsed.error) };
  return { inputs: parsed.data };
}

async function diff(_id: string, olds: StorageContainerOutputs, news: StorageContainerInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = olds.name !== news.name ? ["name"] : [];
  const changes = replaces.length > 0 || olds.retentionDays !== news.retentionDays || (olds.publicAccess ?? "none") !== "none";
  return { changes, replaces, deleteBeforeReplace: false };
}

const metadata = (inputs: StorageContainerInputs) => ({ [RETENTION_METADATA_KEY]: String(inputs.retentionDays) });

async function create(inputs: StorageContainerInputs): Promise<pulumi.dynamic.CreateResult<StorageContainerOutputs>> {
  const client = container(inputs.name);
  // Private: no public access level is ever set.
  const created = await client.createIfNotExists({ metadata: metadata(inputs) });
  if (!created.succeeded) {
    if (!inputs.adopt) throw new Error(`container '${inputs.name}' already exists in account '${accountName()}'; to manage it, set adopt: true on the resource`);
    await client.setAccessPolicy(undefined);
    await client.setMetadata(metadata(inputs));
  }
  return { id: `${accountName()}/${inputs.name}`, outs: { ...inputs, account: accountName(), url: client.url, publicAccess: "none" } };
}

async function read(id: string, props?: StorageContainerOutputs): Promise<pulumi.dynamic.ReadResult<StorageContainerOutputs>> {
  const name = id.split("/").at(-1)!;
  const client = container(name);
  let properties;
  try {
    properties = await client.getProperties();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return {};
    throw error;
  }
  const retention = Number(properties.metadata?.[RETENTION_METADATA_KEY]);
  const inputs: StorageContainerInputs = {
    name,
    retentionDays: Number.isInteger(retention) && retention > 0 ? retention : (props?.retentionDays ?? STORAGE_DEFAULTS.retentionDays),
    adopt: props?.adopt ?? false,
  };
  return { id, props: { ...inputs, account: accountName(), url: client.url, publicAccess: properties.blobPublicAccess ?? "none" }, inputs } as pulumi.dynamic.ReadResult<StorageContainerOutputs>;
}

async function update(_id: string, _olds: StorageContainerOutputs, news: StorageContainerInputs): Promise<pulumi.dynamic.UpdateResult<StorageContainerOutputs>> {
  const client = container(news.name);
  // Setting no access policy also closes a container someone opened to anonymous reads.
  await client.setAccessPolicy(undefined);
  await client.setMetadata(metadata(news));
  return { outs: { ...news, account: accountName(), url: client.url, publicAccess: "none" } };
}

async function remove(id: string): Promise<void> {
  await container(id.split("/").at(-1)!).deleteIfExists();
}

export const storageContainerProvider = { check, diff, create, read, update, delete: remove };

export interface StorageContainerArgs {
  /** The container name (Azure rules: 3–63 lowercase letters, digits, hyphens); defaults to the resource name. */
  name?: pulumi.Input<string>;
  /** Export blobs older than this many days are deleted by the service (default 30). */
  retentionDays?: pulumi.Input<number>;
  adopt?: pulumi.Input<boolean>;
}

export class StorageContainer extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly retentionDays: pulumi.Output<number>;
  declare readonly account: pulumi.Output<string>;
  declare readonly url: pulumi.Output<string>;
  declare readonly publicAccess: pulumi.Output<string>;

  constructor(name: string, args: StorageContainerArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(
      dynamicProvider("StorageContainer"),
      name,
      { ...args, name: args.name ?? name, account: undefined, url: undefined, publicAccess: undefined },
      opts,
      RESOURCE_MODULE,
      "StorageContainer",
    );
  }
}
