// Push credentials (contract: swagger NotificationConfig, discriminated by `type`): APNs token auth,
// FCM (App Center's gcm_config) and WNS. The secret fields are what the service encrypts at rest and
// masks on the way out.
import { createHash } from "node:crypto";
import { z } from "zod";

export const pushConfigSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("apns_token_config"),
      key_id: z.string().regex(/^[A-Z0-9]{10}$/, "must be the 10-character APNs key id"),
      prefix: z.string().regex(/^[A-Z0-9]{10}$/, "must be the 10-character Apple team id"),
      token: z.string().min(32).max(4096),
      endpoint_type: z.enum(["production", "sandbox"]),
    })
    .strict(),
  z.object({ type: z.literal("gcm_config"), server_key: z.string().min(20).max(4096) }).strict(),
  z.object({ type: z.literal("wns_config"), package_sid: z.string().min(1).max(256), secret_key: z.string().min(8).max(4096) }).strict(),
]);
export type PushConfig = z.infer<typeof pushConfigSchema>;
export type PushConfigType = PushConfig["type"];

/** Which field of each config type holds the secret. */
export const PUSH_CONFIG_SECRET_FIELD = { apns_token_config: "token", gcm_config: "server_key", wns_config: "secret_key" } as const;

/** Which device push channel each config type serves. */
export const PUSH_CONFIG_CHANNEL = { apns_token_config: "apns", gcm_config: "fcm", wns_config: "wns" } as const;

/** What GET answers: the secret masked, plus a fingerprint (SHA-256 prefix) to detect changes without it. */
export const pushConfigResultSchema = z
  .object({ type: z.enum(["apns_token_config", "gcm_config", "wns_config"]), secret_fingerprint: z.string() })
  .catchall(z.string());
export type PushConfigResult = z.infer<typeof pushConfigResultSchema>;

export function maskSecret(secret: string): string {
  return `****${secret.slice(-4)}`;
}

/** First 16 hex digits of SHA-256: enough to tell two secrets apart, useless for recovering one. */
export function secretFingerprint(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 16);
}
