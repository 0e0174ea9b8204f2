// Blob storage facts shared by provider, service and policies: container names (Azure's rules),
// SAS permissions, and the defaults of SAS tokens and retention (the bounds on them are the policy
// pack's, guardrails.ts).
import { z } from "zod";
import { LIMITS } from "./limits.ts";

/** Azure: 3–63 characters, lowercase letters, digits and single hyphens, starting with a letter or digit. */
export const containerNameSchema = z
  .string()
  .regex(/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/, "must be 3–63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit (Azure container naming rules)");

/** SAS permission letters in the order Azure writes them. */
export const SAS_PERMISSIONS = ["r", "a", "c", "w", "d", "l"] as const;
export type SasPermission = (typeof SAS_PERMISSIONS)[number];
export const SAS_PERMISSION_NAMES: Record<SasPermission, string> = { r: "read", a: "add", c: "create", w: "write", d: "delete", l: "list" };

/** Parses "cw" into ["c", "w"]; undefined when a letter is not a SAS permission or repeats. */
export function parseSasPermissions(text: string): SasPermission[] | undefined {
  const letters = [...text];
  if (letters.some((l) => !(SAS_PERMISSIONS as readonly string[]).includes(l)) || new Set(letters).size !== letters.length) return undefined;
  return SAS_PERMISSIONS.filter((p) => letters.includes(p));
}

/**
 * What a container grants the service for its own upkeep (the StorageContainer resource): list and
 * delete for retention, read and write so an erasure rewrites exported blobs without the erased
 * subject's records instead of waiting for retention.
 */
export const CONTAINER_GRANT_PERMISSIONS = "rwdl";

export const STORAGE_DEFAULTS = {
  /** What writing exports needs: create and write blobs. */
  exportSasPermissions: "cw",
  sasLifetimeDays: 7,
  /** Renew a SAS token when less than this is left. */
  sasRotationDays: 2,
  retentionDays: 30,
} as const;

/** A storage account's connection string: checked for shape, never echoed (it holds the account key). */
export const connectionStringSchema = z
  .string()
  .refine((value) => /(^|;)AccountName=[^;]+/.test(value), "must be a storage account connection string (…;AccountName=…;AccountKey=…); the value is not shown");

/** Container metadata key that carries the retention the service honours. */
export const RETENTION_METADATA_KEY = "pushplaneretentiondays";

/**
 * A container's own metadata (team, data classification, …). Azure: names are C# identifiers,
 * case-insensitive, values ASCII, 8 KiB in all; pushplane asks for lowercase names so what is read
 * back is what was written, and keeps its retention key to itself.
 */
export const containerMetadataSchema = z
  .record(
    z.string(),
    z.string().regex(/^[\x20-\x7e]*$/, "metadata values must be printable ASCII (Azure sends them as HTTP headers)").refine((value) => value.trim() === value, "metadata values must not start or end with spaces (Azure trims them)"),
  )
  .superRefine((metadata, context) => {
    let size = 0;
    for (const [name, value] of Object.entries(metadata)) {
      size += name.length + value.length;
      if (!/^[a-z_][a-z0-9_]{0,63}$/.test(name)) {
        context.addIssue({ code: "custom", path: [name], message: "metadata names must be 1–64 lowercase letters, digits and '_', not starting with a digit (Azure: C# identifiers)" });
      } else if (name === RETENTION_METADATA_KEY) {
        context.addIssue({ code: "custom", path: [name], message: `'${RETENTION_METADATA_KEY}' is pushplane's own: set retentionDays instead` });
      }
    }
    if (size > 8192) context.addIssue({ code: "custom", message: `metadata must be at most 8 KiB in all (got ${size} bytes; Azure)` });
  })
  .default({});

export const EXPORT_KINDS = ["device_export", "segment_export", "users_by_id_export", "raw_event_export", "broadcast_metrics_export", "braze_series_export"] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

/** Options of a segment export (seeds: Braze export, Users by Segment): the segment is an audience. */
export const segmentExportOptionsSchema = z
  .object({
    segment_id: z.string().min(1),
    output_format: z.enum(["zip", "gzip"]).default("zip"),
    fields_to_export: z.array(z.string()).optional(),
    callback_endpoint: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict();
export type SegmentExportOptions = z.infer<typeof segmentExportOptionsSchema>;

/**
 * Options of a users-by-id export job: the users the seeds' Users by UserID export names (at most
 * 50 external ids, seeds: Braze export), written as the segment export writes its users.
 */
export const usersExportExternalIdsSchema = z
  .array(z.string().min(1).max(256))
  .min(1)
  .max(LIMITS.usersExportExternalIds.value, `at most ${LIMITS.usersExportExternalIds.value} ${LIMITS.usersExportExternalIds.unit} (${LIMITS.usersExportExternalIds.source})`);
export const usersByIdJobOptionsSchema = segmentExportOptionsSchema.omit({ segment_id: true, callback_endpoint: true }).extend({ external_ids: usersExportExternalIdsSchema });
export type UsersByIdJobOptions = z.infer<typeof usersByIdJobOptionsSchema>;

/** Options of a scheduled raw event export: the window is the last `window_days` before each run. */
export const rawEventJobOptionsSchema = z
  .object({
    window_days: z.number().int().min(1).max(7).default(1),
    event_names: z.array(z.string().min(1)).optional(),
    callback_endpoint: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict();
export type RawEventJobOptions = z.infer<typeof rawEventJobOptionsSchema>;

/** Raw event export request (seeds: Braze export, Raw Event Stream Export). */
export const rawEventExportSchema = z
  .object({
    app_group_id: z.string().optional(),
    starting_at: z.iso.datetime({ offset: true }),
    ending_at: z.iso.datetime({ offset: true }),
    event_names: z.array(z.string().min(1)).optional(),
    callback_endpoint: z.url({ protocol: /^https?$/ }).optional(),
    blob_container_sas_uri: z.string(),
  })
  .strict();
export type RawEventExportRequest = z.infer<typeof rawEventExportSchema>;

/** App Center continuous export (contract: swagger ExportConfiguration); pushplane writes to blob storage. */
export const EXPORT_ENTITIES = ["crashes", "errors", "attachments"] as const;
export const exportConfigurationSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("blob_storage_connection_string"),
      connection_string: z.string().regex(/AccountName=[^;]+/, "must be a storage account connection string (…;AccountName=…;AccountKey=…)"),
      export_entities: z.array(z.enum(EXPORT_ENTITIES)).optional(),
      resource_name: z.string().optional(),
      resource_group: z.string().optional(),
    })
    .strict(),
  z.object({ type: z.literal("application_insights_instrumentation_key") }).passthrough(),
  z.object({ type: z.literal("blob_storage_linked_subscription") }).passthrough(),
  z.object({ type: z.literal("application_insights_linked_subscription") }).passthrough(),
]);
export type ExportConfigurationBody = z.infer<typeof exportConfigurationSchema>;
export const exportConfigurationPatchSchema = z
  .object({
    connection_string: z.string().regex(/AccountName=[^;]+/, "must be a storage account connection string (…;AccountName=…;AccountKey=…)").optional(),
    export_entities: z.array(z.enum(EXPORT_ENTITIES)).optional(),
  })
  .strict();
