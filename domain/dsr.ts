// Data-subject requests (GDPR access and erasure; seeds: "Export Push Data", "How To Delete End-User
// Data"): the subject named by any of its identifiers, the request's states, and the receipt, which
// names each identifier only by a keyed hash.
import { z } from "zod";
import type { DsrIdentifier } from "./exported-record.mts";
import { atMost, LIMITS } from "./limits.ts";

export const DSR_KINDS = ["access", "erasure"] as const;
export type DsrKind = (typeof DSR_KINDS)[number];

/** Pending until a process starts it; a cancel is possible only then. */
export const DSR_STATES = ["Pending", "Running", "Completed", "Failed", "Cancelled"] as const;
export type DsrState = (typeof DSR_STATES)[number];

/**
 * The subject: its user id (App Center's user id, Braze's external id), install ids, and values of
 * the app's custom properties that identify a person (an email, a phone number). At least one; at
 * most `dsrSubjectIdentifiers` in all.
 */
export const dsrSubjectSchema = z
  .object({
    user_id: z.string().min(1).max(256).optional(),
    install_ids: z.array(z.uuid("must be an install id (a UUID)")).optional(),
    custom_properties: z.record(z.string().min(1).max(128), z.string().min(1).max(512)).optional(),
  })
  .strict()
  .superRefine((subject, context) => {
    const count = identifiersOf(subject).length;
    if (count === 0) context.addIssue({ code: "custom", message: "names no one: give user_id, install_ids or custom_properties" });
    if (count > LIMITS.dsrSubjectIdentifiers.value) context.addIssue({ code: "custom", message: atMost(LIMITS.dsrSubjectIdentifiers, count) });
  });
export type DsrSubject = z.infer<typeof dsrSubjectSchema>;

export const dsrRequestSchema = z
  .object({
    kind: z.enum(DSR_KINDS),
    subject: dsrSubjectSchema,
    /** Access only: the container the document is written to (create and write permissions). */
    blob_container_sas_uri: z.string().optional(),
  })
  .strict()
  .superRefine((request, context) => {
    if (request.kind === "access" && !request.blob_container_sas_uri) {
      context.addIssue({ code: "custom", path: ["blob_container_sas_uri"], message: "an access request writes its document into a container: give a SAS URL with create and write permissions" });
    }
  });
export type DsrRequestBody = z.infer<typeof dsrRequestSchema>;

// An identifier's type and value (only ever held sealed, never answered), and the identifiers an exported record holds.
export type { DsrIdentifier } from "./exported-record.mts";
export { identifiersOfRecord } from "./exported-record.mts";

/** The subject's identifiers, typed: `user_id`, `install_id`, `custom_property:<name>`. */
export function identifiersOf(subject: Partial<DsrSubject>): DsrIdentifier[] {
  return [
    ...(subject.user_id ? [{ type: "user_id", value: subject.user_id }] : []),
    // An install id named twice (in two cases) is one identifier.
    ...[...new Set((subject.install_ids ?? []).map((value) => value.toLowerCase()))].map((value) => ({ type: "install_id", value })),
    ...Object.entries(subject.custom_properties ?? {}).map(([name, value]) => ({ type: `custom_property:${name}`, value })),
  ];
}

/** An identifier as receipts and answers show it: its type and a keyed hash (the service's key), never its value. */
export const hashedIdentifierSchema = z.object({ type: z.string(), hash: z.string() });

/**
 * What an erasure did to one export blob: `rewritten` without the subject's lines; `deleted` (the
 * grant allows delete but not read and write, or no line of anyone else was left); `unchanged` (the
 * blob's subject filter matched, its lines did not); `gone` (deleted before, by retention or its
 * owner); `pending` (unreachable now: retried, `reason` says why); `left_to_retention` (never
 * reached; retention removed it by `retention_until`).
 */
export const EXPORT_BLOB_ACTIONS = ["rewritten", "deleted", "unchanged", "gone", "pending", "left_to_retention"] as const;
export type ExportBlobAction = (typeof EXPORT_BLOB_ACTIONS)[number];

export const exportBlobOutcomeSchema = z.object({
  /** The container's URL without any SAS. */
  container: z.string(),
  /** The blob, and a companion written with it (a raw event export's event properties file). */
  blobs: z.array(z.string()),
  action: z.enum(EXPORT_BLOB_ACTIONS),
  lines_removed: z.number().int(),
  /** When the container's retention removes the blob at the latest (null: no retention registered). */
  retention_until: z.string().nullable(),
  reason: z.string().nullable(),
});
export type ExportBlobOutcome = z.infer<typeof exportBlobOutcomeSchema>;

/** What was found and done, per category; names of blobs, audiences and notifications, never a subject's value. */
export const dsrReceiptSchema = z.object({
  devices: z.object({ found: z.number().int(), removed: z.number().int() }),
  events: z.object({ removed: z.number().int() }),
  notification_deliveries: z.object({ removed: z.number().int() }),
  /** Notifications whose content named the subject: the values replaced, the statistics kept. */
  notifications_rewritten: z.array(z.string()),
  /** Audiences whose definition or description named the subject: deleted (see README). */
  audiences_deleted: z.array(z.string()),
  /** Audiences whose description alone named the subject: the value replaced. */
  audiences_rewritten: z.array(z.string()),
  /** Users-by-id export jobs that named the subject's user id: the id taken out of their list. */
  export_jobs_rewritten: z.array(z.string()).default([]),
  /** Users-by-id export jobs that named only the subject: deleted (nothing left to export). */
  export_jobs_deleted: z.array(z.string()).default([]),
  /** Export blobs that (may) hold the subject, each with what the erasure did (see EXPORT_BLOB_ACTIONS). */
  export_blobs: z.array(exportBlobOutcomeSchema).default([]),
  /** An access request's document: where it was written. */
  document: z.object({ container: z.string(), blob: z.string() }).nullable().default(null),
  /** Why an erasure found nothing (an earlier erasure of the same subject, say): its no-op explained. */
  note: z.string().nullable().default(null),
});
export type DsrReceipt = z.infer<typeof dsrReceiptSchema>;

export const dsrResultSchema = z.object({
  id: z.string(),
  kind: z.enum(DSR_KINDS),
  state: z.enum(DSR_STATES),
  subject: z.array(hashedIdentifierSchema),
  received_at: z.string(),
  /** Received plus one month: the GDPR answer window. */
  due_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  /** What was done so far (an erasure's store part, the export blobs reached): shown from when there is any. */
  receipt: dsrReceiptSchema.nullable(),
  /** While Running: what the request still waits for (export blobs not reached yet, and why). */
  waiting_for: z.string().nullable(),
  error: z.string().nullable(),
});
export type DsrResult = z.infer<typeof dsrResultSchema>;

/** An erased subject checked again: the devices that hold any of its identifiers now (0: still erased). */
export const dsrRecheckSchema = z.object({ request_id: z.string(), devices: z.number().int(), checked_at: z.string() });
export type DsrRecheck = z.infer<typeof dsrRecheckSchema>;

/**
 * An access request's answer (GDPR Art. 15): everything the store holds for the subject, one JSON
 * document — its devices as the device export writes them, their events, the notifications that
 * reached them or name the subject, the audiences whose definition or description names it, and
 * the subject's users as Braze's users-by-id export answers them.
 */
export const accessDocumentSchema = z.object({
  request_id: z.string(),
  generated_at: z.string(),
  subject: z.array(hashedIdentifierSchema),
  devices: z.array(z.record(z.string(), z.unknown())),
  events: z.array(
    z.object({
      id: z.number(),
      install_id: z.string(),
      type: z.string(),
      name: z.string().nullable(),
      occurred_at: z.string(),
      notification_id: z.string().nullable(),
      product_id: z.string().nullable(),
      amount: z.number().nullable(),
      currency: z.string().nullable(),
      properties: z.record(z.string(), z.unknown()).nullable(),
    }),
  ),
  notifications: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      content: z.unknown(),
      target: z.unknown(),
      /** The subject's devices it was delivered to, with the outcome. */
      deliveries: z.array(z.object({ install_id: z.string(), outcome: z.string().nullable() })),
    }),
  ),
  audiences: z.array(z.object({ name: z.string(), definition: z.string(), description: z.string().nullable() })),
  braze_users: z.array(z.record(z.string(), z.unknown())),
});
export type AccessDocument = z.infer<typeof accessDocumentSchema>;

/** A value as it appears inside JSON text (stored notification content, exported JSON lines). */
export const asJsonText = (value: string) => JSON.stringify(value).slice(1, -1);

/** What replaces an erased value in text the service keeps (a notification's content, an audience's description). */
export const ERASED_TEXT = "[erased]";

/**
 * Where a value stands as a token of its own: not inside a longer word, id or address (user id
 * "ada" is not in "Canada", nor in "ada.lovelace@example.org", which is a value of its own).
 * `needle` is the value as the text writes it (inside JSON text, its JSON escape).
 */
function tokenPattern(needle: string): RegExp {
  const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![\\p{L}\\p{N}_.@+-])${escaped}(?![\\p{L}\\p{N}_@+-]|\\.[\\p{L}\\p{N}])`, "gu");
}

/** Whether the text names any of the values (as tokens; `form`: how the text writes a value). */
export function namesAnyValue(text: string, values: readonly string[], form: (value: string) => string = (value) => value): boolean {
  return values.some((value) => tokenPattern(form(value)).test(text));
}

/** The text with each value replaced by ERASED_TEXT, longest first (a value may hold a shorter one). */
export function eraseValues(text: string, values: readonly string[], form: (value: string) => string = (value) => value): string {
  return [...values].sort((a, b) => b.length - a.length).reduce((out, value) => out.replace(tokenPattern(form(value)), ERASED_TEXT), text);
}
