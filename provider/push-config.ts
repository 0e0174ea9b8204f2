// The PushConfig resource: an app's push credentials (…/push/notifications_config), APNs token auth
// or FCM. The credential is a secret input: encrypted in Pulumi state, encrypted at rest in the
// service, never read back; drift is seen through the service's fingerprint of it.
// Declared in domain/declarations/push-config.ts; here: drift of the credential, create, read, update, delete.
import type * as pulumi from "@pulumi/pulumi";
import { maskSecret, pushConfigBody as apiConfig, pushConfigResource, pushConfigSecret as secretOf, secretFingerprint, type PushConfigResult } from "../domain/index.ts";
import type { AppRef } from "../client/client.ts";
import { clientFor } from "./settings.ts";
import { implement, type Checked, type Stated } from "./declared.ts";

export type PushConfigInputs = Checked<typeof pushConfigResource>;
export type PushConfigOutputs = Stated<typeof pushConfigResource>;

function outputsFrom(inputs: PushConfigInputs, result: PushConfigResult): PushConfigOutputs {
  return { ...inputs, type: result.type, maskedSecret: maskSecret(secretOf(inputs)), secretFingerprint: result.secret_fingerprint };
}

/** A credential changed out of band: refresh updates the fingerprint the service reports, and it no longer matches. */
const diffMore = (olds: PushConfigOutputs, news: PushConfigInputs) => ({ changes: secretFingerprint(secretOf(news)) !== olds.secretFingerprint });

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

export const pushConfigProvider = implement(pushConfigResource, { diffMore, create, read, update, delete: remove });
