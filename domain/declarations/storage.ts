// The blob storage resources, declared: a private export container with its retention, and a
// least-privilege SAS token for it. Azure's rules apply to names; pushplane's defaults bound tokens.
import { z } from "zod";
import { PROVIDER_CONFIG } from "../provider-config.ts";
import { adoptField, appFields, declareResource, type FieldSpec } from "../declare-resource.ts";
import { GUARDRAILS } from "../guardrails.ts";
import { connectionStringSchema, containerMetadataSchema, containerNameSchema, parseSasPermissions, STORAGE_DEFAULTS } from "../storage.ts";

const storageConnectionString = (replaces: boolean) =>
  ({
    schema: connectionStringSchema.optional(),
    doc: "The storage account's connection string, when the program creates the account (made secret whatever is passed).",
    defaultText: `stack config ${PROVIDER_CONFIG.storageConnectionString.key}`,
    secret: true,
    replaces,
  }) satisfies FieldSpec;

export const storageContainerResource = declareResource({
  kind: "StorageContainer",
  doc: "A private blob container for exports. The service deletes export blobs older than the retention, and rewrites exported blobs without an erased subject's records, through a read+write+delete+list SAS granted for these purposes only, which `up` renews a week before it expires; `up` also closes a container someone opened to anonymous reads.",
  source: "Azure Blob Storage; seeds: Braze export (exports land in the customer's container)",
  inputs: {
    ...appFields({ replaces: false }),
    name: { schema: containerNameSchema, doc: "The container's name (Azure's rules).", defaultText: "the resource name", replaces: true },
    retentionDays: {
      schema: z.number().int().min(1).max(3650).default(STORAGE_DEFAULTS.retentionDays),
      doc: "Export blobs older than this many days are deleted by the service (the policy pack bounds it, so an erasure reaches exported copies).",
    },
    metadata: { schema: containerMetadataSchema, doc: "The container's own metadata: lowercase names, printable ASCII values, 8 KiB in all (e.g. { team: \"crm\" })." },
    adopt: adoptField("a container of this name"),
    // Another account is another container (provider/storage-container.ts); a rotated key is an update.
    storageConnectionString: storageConnectionString(false),
  },
  outputs: {
    account: { schema: z.string(), doc: "The storage account's name." },
    url: { schema: z.string(), doc: "The container's URL (no credential in it)." },
    publicAccess: { schema: z.string(), doc: "Anything but \"none\" means someone opened the container to anonymous reads; the next `up` closes it." },
    retentionGrantRenewAfter: { schema: z.string(), doc: "From then on, `up` renews the service's grant." },
    retentionGrantPermissions: { schema: z.string().optional(), doc: "What the service's grant allows (`up` renews a grant that allows less than this version grants)." },
  },
  namedBy: "name",
});

export const containerSasTokenResource = declareResource({
  kind: "ContainerSasToken",
  doc: "A container-scoped SAS URL with least-privilege permissions and an expiry. Inside its rotation window the next `up` replaces it, creating the new token before the old is dropped. Any change makes a new token.",
  source: "Azure Blob Storage (service SAS); bounded by the policy pack's export-sas-least-privilege",
  inputs: {
    containerName: { schema: containerNameSchema, doc: "The container the token is for.", replaces: true },
    permissions: {
      schema: z
        .string()
        .default(STORAGE_DEFAULTS.exportSasPermissions)
        .refine((letters) => parseSasPermissions(letters)?.length, "must be a set of SAS permission letters (r a c w d l), each once")
        // Written the way Azure orders them, so "wc" and "cw" are the same token.
        .transform((letters) => parseSasPermissions(letters)!.join("")),
      doc: "SAS permission letters, least privilege: exports need create and write.",
      replaces: true,
    },
    lifetimeDays: {
      schema: z.number().positive().default(STORAGE_DEFAULTS.sasLifetimeDays),
      doc: "Days the token is valid.",
      defaultText: `${STORAGE_DEFAULTS.sasLifetimeDays}; the policy pack allows at most ${GUARDRAILS["export-sas-least-privilege"].maxLifetimeDays.default} unless configured`,
      replaces: true,
    },
    rotationDays: { schema: z.number().nonnegative().default(STORAGE_DEFAULTS.sasRotationDays), doc: "Replace the token when fewer than this many days are left.", replaces: true },
    // A SAS is signed with the account key: another account or a rotated key needs a new one.
    storageConnectionString: storageConnectionString(true),
  },
  outputs: {
    sasUrl: { schema: z.string(), doc: "The container URL with the SAS.", secret: true },
    expiresOn: { schema: z.string(), doc: "When the token stops working (ISO-8601)." },
    renewAfter: { schema: z.string(), doc: "From then on, `up` replaces the token." },
  },
  refine: (inputs, pending) =>
    !pending.has("lifetimeDays") && !pending.has("rotationDays") && inputs.rotationDays >= inputs.lifetimeDays
      ? [{ property: "rotationDays", reason: `rotationDays must be shorter than lifetimeDays (${inputs.rotationDays} ≥ ${inputs.lifetimeDays}), or the token is replaced on every up` }]
      : [],
});
