// The PushConfig resource: an app's push credentials (…/push/notifications_config), APNs token auth
// or FCM. The credential is a secret input: encrypted in Pulumi state, encrypted at rest in the
// service, never read back; drift is seen through the service's fingerprint of it.
// Order: inputs/outputs → check → diff → create → read → update → delete → the program-side class.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { maskSecret, pushConfigSchema, secretFingerprint, type PushConfig as ApiPushConfig, type PushConfigResult } from "../domain/index.ts";
import type { AppRef } from "../client/client.ts";
import { clientFor, settings } from "./settings.ts";
import { resolveApp, zodFailures } from "./checks.ts";
import { PushplaneResource, secretIfGiven } from "./stub.ts";

// ---- inputs / outputs ----

export interface ApnsCredentials {
  keyId: string;
  teamId: string;
  /** The .p8 signing key's contents. */
  token: string;
  endpointType: "production" | "sandbox";
}
export interface FcmCredentials {
  serverKey: string;
}

export interface PushConfigInputs {
  owner: string;
  app: string;
  apns?: ApnsCredentials;
  fcm?: FcmCredentials;
  adopt: boolean;
}

export interface PushConfigOutputs extends PushConfigInputs {
  type: ApiPushConfig["type"];
  maskedSecret: string;
  secretFingerprint: string;
}

const inputSchema = z.object({
  owner: z.string().min(1).optional(),
  app: z.string().min(1).optional(),
  apns: z.object({ keyId: z.string(), teamId: z.string(), token: z.string(), endpointType: z.enum(["production", "sandbox"]).default("production") }).strict().optional(),
  fcm: z.object({ serverKey: z.string() }).strict().optional(),
  adopt: z.boolean().optional(),
});

/** The API body for the inputs, and the API field each input field maps to (for messages). */
function apiConfig(inputs: Pick<PushConfigInputs, "apns" | "fcm">): { config: ApiPushConfig; fields: Record<string, string> } {
  if (inputs.apns) {
    const { keyId, teamId, token, endpointType } = inputs.apns;
    return {
      config: { type: "apns_token_config", key_id: keyId, prefix: teamId, token, endpoint_type: endpointType },
      fields: { key_id: "apns.keyId", prefix: "apns.teamId", token: "apns.token", endpoint_type: "apns.endpointType" },
    };
  }
  return { config: { type: "gcm_config", server_key: inputs.fcm!.serverKey }, fields: { server_key: "fcm.serverKey" } };
}

const secretOf = (inputs: Pick<PushConfigInputs, "apns" | "fcm">): string => inputs.apns?.token ?? inputs.fcm!.serverKey;

function outputsFrom(inputs: PushConfigInputs, result: PushConfigResult): PushConfigOutputs {
  return { ...inputs, type: result.type, maskedSecret: maskSecret(secretOf(inputs)), secretFingerprint: result.secret_fingerprint };
}

// ---- check ----

async function check(_olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<PushConfigInputs>> {
  const parsed = inputSchema.safeParse(news);
  if (!parsed.success) return { failures: zodFailures(parsed.error) };
  const given = parsed.data;
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const { owner, app } = await resolveApp(given, failures);
  if (Boolean(given.apns) === Boolean(given.fcm)) {
    failures.push({ property: given.apns ? "fcm" : "apns", reason: "set exactly one of apns or fcm: an app has one push configuration (contract: swagger NotificationConfig)" });
  } else {
    const { config, fields } = apiConfig(given);
    const result = pushConfigSchema.safeParse(config);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const field = fields[String(issue.path[0])] ?? String(issue.path[0]);
        // Never echo the credential itself in a message.
        failures.push({ property: field.split(".")[0]!, reason: `${field}: ${issue.message}` });
      }
    }
  }
  if (failures.length > 0) return { failures };
  return { inputs: { owner, app, ...(given.apns ? { apns: given.apns } : { fcm: given.fcm! }), adopt: given.adopt ?? false } };
}

// ---- diff ----

async function diff(_id: string, olds: PushConfigOutputs, news: PushConfigInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = (["owner", "app"] as const).filter((field) => olds[field] !== news[field]);
  const { config: oldConfig } = apiConfig(olds);
  const { config: newConfig } = apiConfig(news);
  const publicOf = (c: ApiPushConfig) => JSON.stringify(Object.entries(c).filter(([k]) => !["token", "server_key", "secret_key"].includes(k)).sort());
  const changes =
    replaces.length > 0 ||
    publicOf(oldConfig) !== publicOf(newConfig) ||
    // Compared through the fingerprint the service reported: that is what refresh updates.
    secretFingerprint(secretOf(news)) !== olds.secretFingerprint;
  return { changes, replaces: [...replaces], deleteBeforeReplace: false };
}

// ---- create / read / update / delete ----

const idOf = (ref: AppRef) => `${ref.owner}/${ref.app}`;
function parseId(id: string): AppRef {
  const [owner, app, ...rest] = id.split("/");
  if (!owner || !app || rest.length > 0) throw new Error(`'${id}' is not a push config id: expected owner/app`);
  return { owner, app };
}

async function create(inputs: PushConfigInputs): Promise<pulumi.dynamic.CreateResult<PushConfigOutputs>> {
  const client = clientFor(inputs);
  if (!inputs.adopt && (await client.getPushConfig(inputs))) {
    throw new Error(`app '${idOf(inputs)}' already has a push configuration; to manage it, set adopt: true on the resource (it then takes the credentials declared here)`);
  }
  const result = await client.putPushConfig(inputs, apiConfig(inputs).config);
  return { id: idOf(inputs), outs: outputsFrom(inputs, result) };
}

async function read(id: string, props?: PushConfigOutputs): Promise<pulumi.dynamic.ReadResult<PushConfigOutputs>> {
  const result = await clientFor(parseId(id)).getPushConfig(parseId(id));
  if (!result || !props) return {};
  // The credential cannot be read back; the fingerprint tells whether it changed out of band.
  return { id, props: { ...props, type: result.type, secretFingerprint: result.secret_fingerprint } };
}

async function update(_id: string, _olds: PushConfigOutputs, news: PushConfigInputs): Promise<pulumi.dynamic.UpdateResult<PushConfigOutputs>> {
  return { outs: outputsFrom(news, await clientFor(news).putPushConfig(news, apiConfig(news).config)) };
}

async function remove(id: string): Promise<void> {
  await clientFor(parseId(id)).deletePushConfig(parseId(id));
}

export const pushConfigProvider = { check, diff, create, read, update, delete: remove };

// ---- program side ----

export interface PushConfigArgs {
  /** APNs token authentication (set this or fcm). */
  apns?: pulumi.Input<{ keyId: pulumi.Input<string>; teamId: pulumi.Input<string>; token: pulumi.Input<string>; endpointType?: pulumi.Input<"production" | "sandbox"> }>;
  /** Firebase Cloud Messaging server key (set this or apns). */
  fcm?: pulumi.Input<{ serverKey: pulumi.Input<string> }>;
  /** Take over an existing configuration (default false: creating over one fails). */
  adopt?: pulumi.Input<boolean>;
  owner?: pulumi.Input<string>;
  app?: pulumi.Input<string>;
}

export class PushConfig extends PushplaneResource {
  declare readonly owner: pulumi.Output<string>;
  declare readonly app: pulumi.Output<string>;
  declare readonly type: pulumi.Output<string>;
  declare readonly maskedSecret: pulumi.Output<string>;
  declare readonly secretFingerprint: pulumi.Output<string>;

  constructor(name: string, args: PushConfigArgs, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      // Secret whatever the caller passed: the credentials are encrypted in state.
      apns: secretIfGiven(args.apns),
      fcm: secretIfGiven(args.fcm),
      type: undefined,
      maskedSecret: undefined,
      secretFingerprint: undefined,
    };
    super("PushConfig", name, props, opts, ["apns", "fcm"]);
  }
}
