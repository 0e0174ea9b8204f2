// The Audience resource: one App Center audience (PUT/GET/DELETE …/analytics/audiences/{name}).
// Declared in domain/declarations/audience.ts; here: the preview's impact line, create, read, update, delete.
import type * as pulumi from "@pulumi/pulumi";
import { adoptionLine, appKeyText, audienceResource, canonical, comparableDefinition as normalize, deviceCount, ESTIMATE_INPUT, impactLabel, impactLine, LIMITS, type Audience as ApiAudience } from "../domain/index.ts";
import type { AppRef } from "../client/client.ts";
import { clientFor } from "./settings.ts";
import { sayOnce } from "./checks.ts";
import { implement, type Checked, type Stated } from "./declared.ts";
import { isUnknown } from "./unknown.ts";

export type AudienceInputs = Checked<typeof audienceResource>;
export type AudienceOutputs = Stated<typeof audienceResource>;

export const audienceId = (ref: AppRef, name: string): string => `${ref.owner}/${ref.app}/${name}`;

function parseId(id: string): AppRef & { name: string } {
  const [owner, app, name, ...rest] = id.split("/");
  if (!owner || !app || !name || rest.length > 0) throw new Error(`'${id}' is not an audience id: expected owner/app/name`);
  return { owner, app, name };
}

function outputsFrom(inputs: AudienceInputs, audience: ApiAudience): AudienceOutputs {
  return {
    ...inputs,
    normalizedDefinition: normalize(audience.definition, audience.custom_properties),
    estimatedCount: audience.estimated_count,
    state: audience.state,
  };
}

function inputsFrom(ref: AppRef, audience: ApiAudience, adopt: boolean): AudienceInputs {
  return {
    owner: ref.owner,
    app: ref.app,
    name: audience.name,
    definition: audience.definition,
    description: audience.description ?? "",
    enabled: audience.enabled,
    customProperties: audience.custom_properties,
    adopt,
  };
}

const requestBody = (inputs: AudienceInputs) => ({
  definition: inputs.definition,
  description: inputs.description,
  enabled: inputs.enabled,
  custom_properties: inputs.customProperties,
});

/**
 * PUT: the answer holds the service's estimate of the size (exact in an app of up to
 * AUDIENCE_ESTIMATE_SAMPLE_DEVICES devices), state Calculating until the service's full count lands in the background; refresh reads
 * it. Nothing here waits for a count, so an up's time does not grow with devices × audiences.
 */
const put = (inputs: AudienceInputs): Promise<ApiAudience> => clientFor(inputs).putAudience(inputs, inputs.name, requestBody(inputs));

/** Whether the service's audience holds exactly the declared definition, description, state and property types. */
function sameAsDeclared(existing: ApiAudience, inputs: AudienceInputs): boolean {
  return (
    normalize(existing.definition, existing.custom_properties ?? {}) === normalize(inputs.definition, inputs.customProperties) &&
    (existing.description ?? "") === inputs.description &&
    existing.enabled === inputs.enabled &&
    canonical(existing.custom_properties ?? {}) === canonical(inputs.customProperties)
  );
}

// ---- check: after the declaration's checks, the size the change makes (and an adopt), said at preview ----

async function complete(inputs: AudienceInputs, previous: Partial<AudienceOutputs>, pending: ReadonlySet<string>): Promise<pulumi.dynamic.CheckFailure[] | AudienceInputs> {
  const creating = previous.definition === undefined;
  // Counted whenever whom it selects may change: a new or redefined audience, one moved to another
  // app or name (replaced: a new audience there), one enabled again.
  const counting =
    creating ||
    isUnknown(previous.definition) ||
    normalize(previous.definition!, previous.customProperties ?? {}) !== normalize(inputs.definition, inputs.customProperties) ||
    previous.owner !== inputs.owner ||
    previous.app !== inputs.app ||
    previous.name !== inputs.name ||
    (previous.enabled === false && inputs.enabled);
  if (!counting || pending.has("definition") || pending.has("name") || pending.has("customProperties")) return [];
  const impact = await reportImpact(inputs, creating);
  if (impact.refusal) return [{ property: "adopt", reason: impact.refusal }];
  // The estimate, or why there is none: the pack then says the send limit went unchecked.
  return { ...inputs, [ESTIMATE_INPUT]: impact.estimate ?? impact.unestimated } as AudienceInputs;
}

/** Why `create` would refuse an audience that exists with another definition (also said at preview). */
const refusalToTakeOver = (inputs: AudienceInputs): string =>
  `audience '${inputs.name}' already exists in app '${appKeyText(inputs)}' with another definition; ` +
  `to manage it, set adopt: true on the resource (it then takes the definition declared here)`;

/** What adopting `existing` changes in it, for the preview. */
function adoptionChanges(existing: ApiAudience, inputs: AudienceInputs): { field: string; was: string; becomes: string }[] {
  return [
    { field: "definition", was: normalize(existing.definition, existing.custom_properties ?? {}), becomes: normalize(inputs.definition, inputs.customProperties) },
    { field: "description", was: existing.description ?? "", becomes: inputs.description },
    { field: "enabled", was: String(existing.enabled), becomes: String(inputs.enabled) },
    { field: "customProperties", was: canonical(existing.custom_properties ?? {}), becomes: canonical(inputs.customProperties) },
  ].filter(({ was, becomes }) => was !== becomes);
}


/**
 * What a created or changed definition does to the audience's size, as a line on the preview:
 * `acme/ios us-users: 1,542 → ~1,802 devices (+260)`, from the service's count of the declared
 * definition (`definition/test`, which changes nothing) and the audience as it is now; a warning
 * when the estimate is over the send limit. A service that cannot answer is said, never fatal.
 */
async function reportImpact(inputs: AudienceInputs, creating: boolean): Promise<{ refusal?: string; estimate?: number; unestimated?: string }> {
  const label = impactLabel(appKeyText(inputs), inputs.name);
  try {
    const client = clientFor(inputs, { quick: true });
    const [after, current] = await Promise.all([client.testDefinition(inputs, requestBody(inputs)), client.getAudience(inputs, inputs.name)]);
    const estimate = after.estimated_count;
    // A create over an audience that exists: adopted (say what changes in it), taken as this
    // stack's own interrupted create (exactly as declared), or refused here rather than at `up`.
    if (creating && current && !sameAsDeclared(current, inputs)) {
      if (!inputs.adopt) return { refusal: refusalToTakeOver(inputs) };
      sayOnce(adoptionLine(label, adoptionChanges(current, inputs)));
    }
    sayOnce(impactLine(label, current?.estimated_count, estimate));
    const limit = LIMITS.devicesPerAudience;
    if (estimate > limit.value) {
      sayOnce(`warning: ${label}: ~${deviceCount(estimate)} devices is over the send limit of ${deviceCount(limit.value)} ${limit.unit} (${limit.source}); a notification to it is refused`);
    }
    return { estimate };
  } catch (error) {
    const reason = `size not estimated (${(error as Error).message})`;
    sayOnce(`${label}: ${reason}`);
    return { unestimated: reason };
  }
}

// ---- create / read / update / delete ----

async function create(inputs: AudienceInputs): Promise<pulumi.dynamic.CreateResult<AudienceOutputs>> {
  const client = clientFor(inputs);
  // PUT creates or overwrites; refuse to silently take over an audience someone else manages.
  // (Pulumi's `import` option cannot reach a Node.js dynamic provider, pulumi/pulumi#16175, so
  // taking over is an explicit input instead.)
  // An audience that already holds exactly what is declared is taken as this resource's own: a
  // create whose write landed but whose answer was lost (a dropped connection, retries exhausted)
  // leaves nothing in state, and the next `up` must converge instead of failing forever on it.
  const existing = inputs.adopt ? undefined : await client.getAudience(inputs, inputs.name);
  if (existing && !sameAsDeclared(existing, inputs)) throw new Error(refusalToTakeOver(inputs));
  const audience = await put(inputs);
  return { id: audienceId(inputs, inputs.name), outs: outputsFrom(inputs, audience) };
}

async function read(id: string, props?: AudienceOutputs): Promise<pulumi.dynamic.ReadResult<AudienceOutputs>> {
  const ref = parseId(id);
  const audience = await clientFor(ref).getAudience(ref, ref.name);
  // Gone: an empty id tells the engine to drop the resource from state on refresh.
  if (!audience) return {};
  const inputs = inputsFrom(ref, audience, props?.adopt ?? false);
  return { id, props: outputsFrom(inputs, audience), inputs } as pulumi.dynamic.ReadResult<AudienceOutputs>;
}

async function update(_id: string, _olds: AudienceOutputs, news: AudienceInputs): Promise<pulumi.dynamic.UpdateResult<AudienceOutputs>> {
  return { outs: outputsFrom(news, await put(news)) };
}

async function remove(id: string): Promise<void> {
  const ref = parseId(id);
  // Already gone counts as deleted.
  await clientFor(ref).deleteAudience(ref, ref.name);
}

export const audienceProvider = implement(audienceResource, { complete, create, read, update, delete: remove });
