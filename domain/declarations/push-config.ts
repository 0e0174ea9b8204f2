// The PushConfig resource, declared (contract: App Center swagger, NotificationConfig): an app's push
// credentials, APNs token auth or FCM, secret inputs never read back.
import { z } from "zod";
import { adoptField, appFields, declareResource, type InputFailure } from "../declare-resource.ts";
import { pushConfigSchema, type PushConfig } from "../push-config.ts";

const apnsCredentials = z
  .object({ keyId: z.string(), teamId: z.string(), token: z.string(), endpointType: z.enum(["production", "sandbox"]).default("production") })
  .strict();
const fcmCredentials = z.object({ serverKey: z.string() }).strict();

type Credentials = { apns?: z.output<typeof apnsCredentials> | undefined; fcm?: z.output<typeof fcmCredentials> | undefined };

/** The API body for the credentials, and the input each API field comes from (for messages). */
export function pushConfigBody(credentials: Credentials): { config: PushConfig; fields: Record<string, string> } {
  if (credentials.apns) {
    const { keyId, teamId, token, endpointType } = credentials.apns;
    return {
      config: { type: "apns_token_config", key_id: keyId, prefix: teamId, token, endpoint_type: endpointType },
      fields: { key_id: "apns.keyId", prefix: "apns.teamId", token: "apns.token", endpoint_type: "apns.endpointType" },
    };
  }
  return { config: { type: "gcm_config", server_key: credentials.fcm!.serverKey }, fields: { server_key: "fcm.serverKey" } };
}

/** The secret of the credentials: the .p8 key or the server key. */
export const pushConfigSecret = (credentials: Credentials): string => credentials.apns?.token ?? credentials.fcm!.serverKey;

export const pushConfigResource = declareResource({
  kind: "PushConfig",
  doc: "An app's push credentials: APNs token authentication or Firebase Cloud Messaging. The credential is encrypted in Pulumi state and at rest in the service and never read back; drift is seen through the service's fingerprint of it.",
  source: "contract: App Center swagger, NotificationConfig (…/push/notifications_config)",
  inputs: {
    ...appFields({ replaces: true }),
    apns: {
      schema: apnsCredentials.optional(),
      doc: "APNs token authentication: keyId (10 characters), teamId (10 characters), token (the .p8 key's contents), endpointType (production or sandbox). Set this or fcm.",
      secret: true,
    },
    fcm: { schema: fcmCredentials.optional(), doc: "Firebase Cloud Messaging: serverKey. Set this or apns.", secret: true },
    adopt: adoptField("the app's push configuration"),
  },
  outputs: {
    type: { schema: z.enum(["apns_token_config", "gcm_config", "wns_config"]), doc: "The service's configuration type." },
    maskedSecret: { schema: z.string(), doc: "The credential's last four characters." },
    secretFingerprint: { schema: z.string(), doc: "The service's fingerprint of the credential (SHA-256 prefix): refresh shows a credential changed out of band." },
  },
  refine: (inputs, pending) => {
    if (pending.has("apns") || pending.has("fcm")) return [];
    if (Boolean(inputs.apns) === Boolean(inputs.fcm)) {
      return [{ property: inputs.apns ? "fcm" : "apns", reason: "set exactly one of apns or fcm: an app has one push configuration (contract: swagger NotificationConfig)" }];
    }
    const { config, fields } = pushConfigBody(inputs);
    const failures: InputFailure[] = [];
    for (const issue of pushConfigSchema.safeParse(config).error?.issues ?? []) {
      const field = fields[String(issue.path[0])] ?? String(issue.path[0]);
      // Never echo the credential itself in a message.
      failures.push({ property: field.split(".")[0]!, reason: `${field}: ${issue.message}` });
    }
    return failures;
  },
});
