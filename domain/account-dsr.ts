// App Center's account data-subject rights (swagger DataSubjectRight_*: /v0.1/user/dsr/export and
// /delete, their status and cancel): requests about the token holder's own account, with no body.
// The service has no user accounts: an API token is the account. What it holds about one is the
// token's record (id, description, scope, creation time; the token itself only as a hash) and no
// audit entries (it keeps none); an export packages exactly that, a delete removes exactly that.
import { z } from "zod";

export const ACCOUNT_DSR_KINDS = ["export", "delete"] as const;
export type AccountDsrKind = (typeof ACCOUNT_DSR_KINDS)[number];

/** The swagger's DataSubjectRightStatusResponse.status; a cancelled request reads `None`, its message saying so. */
export const ACCOUNT_DSR_STATUSES = ["None", "Created", "Queued", "InProgress", "Completed", "Failed"] as const;
export type AccountDsrStatus = (typeof ACCOUNT_DSR_STATUSES)[number];

/** swagger DataSubjectRightResponse: what a request and a cancel answer (202, with Location). */
export const dataSubjectRightResponseSchema = z.object({ token: z.uuid(), createdAt: z.string() });

/** swagger DataSubjectRightStatusResponse. */
export const dataSubjectRightStatusSchema = z.object({
  /** An export's document, at a signed URL of the service (the SAS URL of App Center's answer). */
  sasUrl: z.string().optional(),
  sasUrlExpired: z.boolean().optional(),
  status: z.enum(ACCOUNT_DSR_STATUSES),
  message: z.string(),
});
export type DataSubjectRightStatus = z.infer<typeof dataSubjectRightStatusSchema>;

/** The swagger's optional email (App Center's x-authz-bypass): accepted, not used (the service keeps no emails). */
export const dataSubjectRightEmailSchema = z.object({ email: z.string().optional() });

/** Everything the service holds about the account (the API token), as an export writes it. */
export const accountDocumentSchema = z.object({
  api_token: z.object({ id: z.string(), description: z.string(), scope: z.array(z.string()), created_at: z.string() }),
  /** The service keeps no audit entries (requests are not logged with who made them). */
  audit_entries: z.array(z.never()),
  exported_at: z.string(),
});
export type AccountDocument = z.infer<typeof accountDocumentSchema>;

/** How long an export's document stays downloadable at its signed URL. */
export const ACCOUNT_EXPORT_DAYS = 7;
