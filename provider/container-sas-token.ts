// The ContainerSasToken resource: a container-scoped SAS URL with least-privilege permissions and
// an expiry. Past its renewal time (expiry minus the rotation window) the next `pulumi up` replaces
// it — the new one is created before the old is dropped, so whatever uses it never holds an expired
// one. How much it may grant and for how long is the policy pack's rule (export-sas-least-privilege);
// the two stack config keys that once held it are honoured while a stack still sets them.
// Declared in domain/declarations/storage.ts; here: the deprecated bounds, renewal, create, read, delete.
import { ContainerSASPermissions, SASProtocol } from "@azure/storage-blob";
import type * as pulumi from "@pulumi/pulumi";
import { containerSasTokenResource, parseSasPermissions, SAS_PERMISSION_NAMES, STORAGE_DEFAULTS } from "../domain/index.ts";
import { implement, type Checked, type Stated } from "./declared.ts";
import { settings } from "./settings.ts";
import { container } from "./storage.ts";

export type ContainerSasTokenInputs = Checked<typeof containerSasTokenResource>;
export type ContainerSasTokenOutputs = Stated<typeof containerSasTokenResource>;

const DAY = 86_400_000;

/** The deprecated stack config bounds, when a stack sets them (the program warns that they moved). */
async function complete(inputs: ContainerSasTokenInputs, _olds: unknown, pending: ReadonlySet<string>): Promise<pulumi.dynamic.CheckFailure[]> {
  const { sasAllowedPermissions, sasMaxLifetimeDays } = settings();
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const excess =
    pending.has("permissions") || sasAllowedPermissions === undefined ? [] : (parseSasPermissions(inputs.permissions) ?? []).filter((p) => !sasAllowedPermissions.includes(p));
  if (excess.length > 0) {
    failures.push({
      property: "permissions",
      reason: `permissions: ${excess.map((p) => `${SAS_PERMISSION_NAMES[p]} (${p})`).join(", ")} exceeds what tokens may grant ('${sasAllowedPermissions}', pushplane:sasAllowedPermissions); exports need only '${STORAGE_DEFAULTS.exportSasPermissions}'`,
    });
  }
  if (!pending.has("lifetimeDays") && sasMaxLifetimeDays !== undefined && inputs.lifetimeDays > sasMaxLifetimeDays) {
    failures.push({ property: "lifetimeDays", reason: `lifetimeDays must be at most ${sasMaxLifetimeDays} days (got ${inputs.lifetimeDays}; pushplane:sasMaxLifetimeDays)` });
  }
  return failures;
}

/** Inside the rotation window: replace now, while the current token still works. */
const diffMore = (olds: ContainerSasTokenOutputs) => ({ replaces: Date.now() >= Date.parse(olds.renewAfter) ? ["renewAfter"] : [] });

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

export const containerSasTokenProvider = implement(containerSasTokenResource, { complete, diffMore, create, read, delete: remove });
