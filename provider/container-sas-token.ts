// The ContainerSasToken resource: a container-scoped SAS URL with least-privilege permissions and
// an expiry. Past its renewal time (expiry minus the rotation window) the next `pulumi up` replaces
// it — the new one is created before the old is dropped, so whatever uses it never holds an expired
// one. Checked against `pushplane:sasAllowedPermissions` and `pushplane:sasMaxLifetimeDays`.
// Order: inputs/outputs → check → diff → create → read → update → delete → the program-side class.
import { ContainerSASPermissions, SASProtocol } from "@azure/storage-blob";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { containerNameSchema, parseSasPermissions, SAS_PERMISSION_NAMES, STORAGE_DEFAULTS } from "../domain/index.ts";
import { settings } from "./settings.ts";
import { connectionStringSchema, container } from "./storage.ts";
import { zodFailures } from "./checks.ts";
import { PushplaneResource, secretIfGiven } from "./stub.ts";
import { isUnknown } from "./unknown.ts";

const DAY = 86_400_000;

export interface ContainerSasTokenInputs {
  containerName: string;
  permissions: string;
  lifetimeDays: number;
  rotationDays: number;
  /** The account, when the program passes it (secret); otherwise pushplane:storageConnectionString. */
  storageConnectionString?: string;
}
export interface ContainerSasTokenOutputs extends ContainerSasTokenInputs {
  sasUrl: string;
  expiresOn: string;
  /** From this time on, `pulumi up` replaces the token. */
  renewAfter: string;
}

const inputSchema = z.object({
  containerName: z.union([z.string().refine(isUnknown), containerNameSchema]),
  permissions: z.string().default(STORAGE_DEFAULTS.exportSasPermissions),
  lifetimeDays: z.number().positive().default(STORAGE_DEFAULTS.sasLifetimeDays),
  rotationDays: z.number().nonnegative().default(STORAGE_DEFAULTS.sasRotationDays),
  storageConnectionString: connectionStringSchema,
});

async function check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<ContainerSasTokenInputs>> {
  const parsed = inputSchema.safeParse(news);
  if (!parsed.success) return { failures: zodFailures(parsed.error) };
  const inputs = parsed.data;
  const { sasAllowedPermissions, sasMaxLifetimeDays } = settings();
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const permissions = parseSasPermissions(inputs.permissions);
  if (!permissions || permissions.length === 0) {
    failures.push({ property: "permissions", reason: `permissions: '${inputs.permissions}' is not a set of SAS permission letters (r a c w d l)` });
  } else {
    const excess = permissions.filter((p) => !sasAllowedPermissions.includes(p));
    if (excess.length > 0) {
      failures.push({
        property: "permissions",
        reason: `permissions: ${excess.map((p) => `${SAS_PERMISSION_NAMES[p]} (${p})`).join(", ")} exceeds what tokens may grant ('${sasAllowedPermissions}', pushplane:sasAllowedPermissions); exports need only '${STORAGE_DEFAULTS.exportSasPermissions}'`,
      });
    }
  }
  if (inputs.lifetimeDays > sasMaxLifetimeDays) {
    failures.push({ property: "lifetimeDays", reason: `lifetimeDays must be at most ${sasMaxLifetimeDays} days (got ${inputs.lifetimeDays}; pushplane:sasMaxLifetimeDays)` });
  }
  if (inputs.rotationDays >= inputs.lifetimeDays) {
    failures.push({ property: "rotationDays", reason: `rotationDays must be shorter than lifetimeDays (${inputs.rotationDays} ≥ ${inputs.lifetimeDays}), or the token is replaced on every up` });
  }
  if (failures.length > 0) return { failures };
  return { inputs: { ...inputs, permissions: permissions!.join("") } };
}

async function diff(_id: string, olds: ContainerSasTokenOutputs, news: ContainerSasTokenInputs): Promise<pulumi.dynamic.DiffResult> {
  // A SAS is signed with the account key: another account or a rotated key needs a new one.
  const changed = (["containerName", "permissions", "lifetimeDays", "rotationDays", "storageConnectionString"] as const).filter((field) => (olds[field] ?? "") !== (news[field] ?? ""));
  // Inside the rotation window: replace now, while the current token still works.
  const due = Date.now() >= Date.parse(olds.renewAfter) ? ["renewAfter"] : [];
  const replaces = [...changed, ...due];
  return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
}

async function create(inputs: ContainerSasTokenInputs): Promise<pulumi.dynamic.CreateResult<ContainerSasTokenOutputs>> {
  const now = Date.now();
  const expiresOn = new Date(now + inputs.lifetimeDays * DAY);
  const client = container(inputs.containerName, inputs.storageConnectionString);
  const sasUrl = await client.generateSasUrl({
    permissions: ContainerSASPermissions.parse(inputs.permissions),
    // A few minutes back, so a storage service whose clock is slightly behind accepts it at once.
    startsOn: new Date(now - 5 * 60_000),
    expiresOn,
    protocol: client.url.startsWith("https:") ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
  });
  return {
    id: `${inputs.containerName}/${expiresOn.toISOString()}`,
    outs: { ...inputs, sasUrl, expiresOn: expiresOn.toISOString(), renewAfter: new Date(expiresOn.getTime() - inputs.rotationDays * DAY).toISOString() },
  };
}

/** A SAS cannot be read back; it stands until it expires (an expired one reads as gone). */
async function read(id: string, props?: ContainerSasTokenOutputs): Promise<pulumi.dynamic.ReadResult<ContainerSasTokenOutputs>> {
  if (!props || Date.now() >= Date.parse(props.expiresOn)) return {};
  return { id, props };
}

/** An ad-hoc SAS cannot be revoked (only rotating the account key or a stored access policy can). */
async function remove(): Promise<void> {}

export const containerSasTokenProvider = { check, diff, create, read, delete: remove };

export interface ContainerSasTokenArgs {
  containerName: pulumi.Input<string>;
  /** SAS permission letters, least privilege; default "cw" (create and write: what exports need). */
  permissions?: pulumi.Input<string>;
  /** Default 7 days, at most pushplane:sasMaxLifetimeDays (default 30). */
  lifetimeDays?: pulumi.Input<number>;
  /** Replace the token when less than this many days are left; default 2. */
  rotationDays?: pulumi.Input<number>;
  /** The storage account's connection string (made secret); default pushplane:storageConnectionString. */
  storageConnectionString?: pulumi.Input<string>;
}

export class ContainerSasToken extends PushplaneResource {
  declare readonly sasUrl: pulumi.Output<string>;
  declare readonly expiresOn: pulumi.Output<string>;
  declare readonly renewAfter: pulumi.Output<string>;

  constructor(name: string, args: ContainerSasTokenArgs, opts?: pulumi.CustomResourceOptions) {
    const storageConnectionString = secretIfGiven(args.storageConnectionString);
    super("ContainerSasToken", name, { ...args, storageConnectionString, sasUrl: undefined, expiresOn: undefined, renewAfter: undefined }, opts, ["sasUrl", "storageConnectionString"]);
  }
}
