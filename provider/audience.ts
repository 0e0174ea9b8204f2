// The Audience resource: one App Center audience (PUT/GET/DELETE …/analytics/audiences/{name}).
// Order: inputs/outputs → check → diff → create → read → update → delete → the program-side class.
import * as pulumi from "@pulumi/pulumi";
import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import { appKeyText, checkDefinition, LIMITS, propertyTypeSchema, validateAudience, type Audience as ApiAudience, type PropertyType } from "../domain/index.ts";
import type { AppRef } from "../client/client.ts";
import { clientFor, settings } from "./settings.ts";
import { resolveApp, sayOnce, zodFailures } from "./checks.ts";
import { PushplaneResource } from "./stub.ts";
import { isUnknown } from "./unknown.ts";

// ---- inputs / outputs ----

export interface AudienceInputs {
  owner: string;
  app: string;
  name: string;
  definition: string;
  description: string;
  enabled: boolean;
  customProperties: Record<string, PropertyType>;
  /** Take over an audience that already exists instead of failing (see `create`). */
  adopt: boolean;
}

export interface AudienceOutputs extends AudienceInputs {
  /** The definition as the service normalizes it (word operators, single spaces, minimal parentheses). */
  normalizedDefinition: string;
  estimatedCount: number;
  state: string;
}

const inputSchema = z.object({
  owner: z.string().min(1).optional(),
  app: z.string().min(1).optional(),
  name: z.string(),
  definition: z.string(),
  description: z.string().optional(),
  enabled: z.boolean().optional(),
  customProperties: z.record(z.string(), propertyTypeSchema).optional(),
  adopt: z.boolean().optional(),
});

/** Fields that identify the audience: changing one creates a new audience and deletes the old. */
const IDENTITY: readonly (keyof AudienceInputs)[] = ["owner", "app", "name"];

export const audienceId = (ref: AppRef, name: string): string => `${ref.owner}/${ref.app}/${name}`;

function parseId(id: string): AppRef & { name: string } {
  const [owner, app, name, ...rest] = id.split("/");
  if (!owner || !app || !name || rest.length > 0) throw new Error(`'${id}' is not an audience id: expected owner/app/name`);
  return { owner, app, name };
}

function normalize(definition: string, customProperties: Record<string, PropertyType>): string {
  const checked = checkDefinition(definition, customProperties);
  // A definition stored out-of-band may not parse; compare its raw text then.
  return "field" in checked ? definition.trim() : checked.normalized;
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
 * PUT, then wait for the service's count so estimatedCount and state are final outputs. Once the PUT
 * is answered the audience is applied: a count that cannot be read back (the service busy, the
 * network flaky) leaves the outputs as the PUT answered them (Calculating) rather than failing a
 * change that happened; the next refresh reads the count.
 */
async function putAndCount(inputs: AudienceInputs): Promise<ApiAudience> {
  const client = clientFor(inputs);
  const saved = await client.putAudience(inputs, inputs.name, requestBody(inputs));
  try {
    return (await client.waitForCount(inputs, inputs.name)) ?? saved;
  } catch (error) {
    pulumi.log.warn(`audience '${inputs.name}': saved, but its count could not be read (${(error as Error).message}); refresh shows it`);
    return saved;
  }
}

/** Whether the service's audience holds exactly the declared definition, description, state and property types. */
function sameAsDeclared(existing: ApiAudience, inputs: AudienceInputs): boolean {
  return (
    normalize(existing.definition, existing.custom_properties ?? {}) === normalize(inputs.definition, inputs.customProperties) &&
    (existing.description ?? "") === inputs.description &&
    existing.enabled === inputs.enabled &&
    isDeepStrictEqual(sortKeys(existing.custom_properties ?? {}), sortKeys(inputs.customProperties))
  );
}

// ---- check: validate and fill defaults; every failure names the field, the column and the limit ----

/**
 * What is wrong with an audience's inputs as the program wrote them, without the service: `check`'s
 * first step, which the program also runs on literal inputs so one preview reports every bad
 * resource (stub.ts). A definition or name computed from another resource is checked once known.
 */
export function audienceInputFailures(news: Record<string, unknown>): pulumi.dynamic.CheckFailure[] {
  const parsed = inputSchema.safeParse(news);
  if (!parsed.success) return zodFailures(parsed.error);
  const given = parsed.data;
  if (isUnknown(given.definition) || isUnknown(given.name)) return [];
  const { issues } = validateAudience(
    given.name,
    { definition: given.definition, description: given.description, enabled: given.enabled, custom_properties: given.customProperties },
    { name: "name", definition: "definition", description: "description", customProperties: "customProperties" },
  );
  return issues.map((issue) => ({ property: issue.field.split(".")[0]!, reason: issue.message }));
}

async function check(olds: unknown, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<AudienceInputs>> {
  const early = audienceInputFailures(news);
  if (early.length > 0) return { failures: early };
  const given = inputSchema.parse(news);
  const failures: pulumi.dynamic.CheckFailure[] = [];
  const { owner, app } = await resolveApp(given, failures);
  if (failures.length > 0) return { failures };
  const inputs: AudienceInputs = {
      owner,
      app,
      name: given.name,
      definition: given.definition,
      description: given.description ?? "",
      enabled: given.enabled ?? true,
    customProperties: given.customProperties ?? {},
    adopt: given.adopt ?? false,
  };
  const previous = olds as Partial<AudienceInputs>;
  const creating = previous.definition === undefined;
  const counting = creating || isUnknown(previous.definition) || normalize(previous.definition!, previous.customProperties ?? {}) !== normalize(inputs.definition, inputs.customProperties);
  if (counting && !isUnknown(inputs.definition) && !isUnknown(inputs.name)) {
    const refusal = await reportImpact(inputs, creating);
    if (refusal) return { failures: [{ property: "adopt", reason: refusal }] };
  }
  return { inputs };
}

/** Why `create` would refuse an audience that exists with another definition (also said at preview). */
const refusalToTakeOver = (inputs: AudienceInputs): string =>
  `audience '${inputs.name}' already exists in app '${appKeyText(inputs)}' with another definition; ` +
  `to manage it, set adopt: true on the resource (it then takes the definition declared here)`;

/** What adopting `existing` changes in it, for the preview. */
function adoptionChanges(existing: ApiAudience, inputs: AudienceInputs): string {
  const changes = [
    [normalize(existing.definition, existing.custom_properties ?? {}), normalize(inputs.definition, inputs.customProperties), "definition"],
    [existing.description ?? "", inputs.description, "description"],
    [String(existing.enabled), String(inputs.enabled), "enabled"],
    [JSON.stringify(sortKeys(existing.custom_properties ?? {})), JSON.stringify(sortKeys(inputs.customProperties)), "customProperties"],
  ].flatMap(([was, becomes, field]) => (was === becomes ? [] : [`${field} ${JSON.stringify(was)} → ${JSON.stringify(becomes)}`]));
  return changes.length === 0 ? "nothing in it changes" : changes.join("; ");
}

const devices = (n: number) => n.toLocaleString("en-US");

/**
 * What a created or changed definition does to the audience's size, as a line on the preview:
 * `acme/ios us-users: 1,542 → ~1,802 devices (+260)`, from the service's count of the declared
 * definition (`definition/test`, which changes nothing) and the audience as it is now; a warning
 * when the estimate is over the send limit. A service that cannot answer is said, never fatal.
 */
async function reportImpact(inputs: AudienceInputs, creating: boolean): Promise<string | undefined> {
  const label = `${appKeyText(inputs)} ${inputs.name}`;
  try {
    const client = clientFor(inputs, { quick: true });
    const [after, current] = await Promise.all([client.testDefinition(inputs, requestBody(inputs)), client.getAudience(inputs, inputs.name)]);
    const estimate = after.estimated_count;
    // A create over an audience that exists: adopted (say what changes in it), taken as this
    // stack's own interrupted create (exactly as declared), or refused here rather than at `up`.
    if (creating && current && !sameAsDeclared(current, inputs)) {
      if (!inputs.adopt) return refusalToTakeOver(inputs);
      sayOnce(`${label}: adopts the audience that exists (not a new one): ${adoptionChanges(current, inputs)}`);
    }
    if (current) {
      const delta = estimate - current.estimated_count;
      sayOnce(`${label}: ${devices(current.estimated_count)} → ~${devices(estimate)} devices (${delta >= 0 ? "+" : "−"}${devices(Math.abs(delta))})`);
    } else {
      sayOnce(`${label} (new): ~${devices(estimate)} devices`);
    }
    const limit = LIMITS.devicesPerAudience;
    if (estimate > limit.value) {
      sayOnce(`warning: ${label}: ~${devices(estimate)} devices is over the send limit of ${devices(limit.value)} ${limit.unit} (${limit.source}); a notification to it is refused`);
    }
  } catch (error) {
    sayOnce(`${label}: size not estimated (${(error as Error).message})`);
  }
  return undefined;
}

// ---- diff: compare normalized values so preview after up is empty ----

async function diff(_id: string, olds: AudienceOutputs, news: AudienceInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = IDENTITY.filter((field) => olds[field] !== news[field]);
  const changed =
    replaces.length > 0 ||
    normalize(olds.definition, olds.customProperties ?? {}) !== normalize(news.definition, news.customProperties) ||
    (olds.description ?? "") !== news.description ||
    (olds.enabled ?? true) !== news.enabled ||
    !isDeepStrictEqual(sortKeys(olds.customProperties ?? {}), sortKeys(news.customProperties));
  return { changes: changed, replaces: replaces as string[], deleteBeforeReplace: false };
}

const sortKeys = <T>(record: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));

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
  const audience = await putAndCount(inputs);
  return { id: audienceId(inputs, inputs.name), outs: outputsFrom(inputs, audience) };
}

async function read(id: string, props?: Partial<AudienceOutputs>): Promise<pulumi.dynamic.ReadResult<AudienceOutputs>> {
  const ref = parseId(id);
  const audience = await clientFor(ref).getAudience(ref, ref.name);
  // Gone: an empty id tells the engine to drop the resource from state on refresh.
  if (!audience) return {};
  const inputs = inputsFrom(ref, audience, props?.adopt ?? false);
  return { id, props: outputsFrom(inputs, audience), inputs } as pulumi.dynamic.ReadResult<AudienceOutputs>;
}

async function update(_id: string, _olds: AudienceOutputs, news: AudienceInputs): Promise<pulumi.dynamic.UpdateResult<AudienceOutputs>> {
  return { outs: outputsFrom(news, await putAndCount(news)) };
}

async function remove(id: string): Promise<void> {
  const ref = parseId(id);
  // Already gone counts as deleted.
  await clientFor(ref).deleteAudience(ref, ref.name);
}

export const audienceProvider = { check, diff, create, read, update, delete: remove };

// ---- program side ----

export interface AudienceArgs {
  /** The audience name in the service (≤ 64 characters, no '/'); defaults to the resource name. */
  name?: pulumi.Input<string>;
  /** The App Center definition, e.g. `carrierCountry eq 'US'`. */
  definition: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  enabled?: pulumi.Input<boolean>;
  /** Types of the custom properties the definition uses. */
  customProperties?: pulumi.Input<Record<string, pulumi.Input<PropertyType>>>;
  /** Take over an audience of this name that already exists (default false: creating over one fails). */
  adopt?: pulumi.Input<boolean>;
  /** Defaults to `pushplane:owner` from stack config. */
  owner?: pulumi.Input<string>;
  /** Defaults to `pushplane:app` from stack config. */
  app?: pulumi.Input<string>;
}

export class Audience extends PushplaneResource {
  declare readonly owner: pulumi.Output<string>;
  declare readonly app: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly definition: pulumi.Output<string>;
  declare readonly normalizedDefinition: pulumi.Output<string>;
  declare readonly description: pulumi.Output<string>;
  declare readonly enabled: pulumi.Output<boolean>;
  declare readonly customProperties: pulumi.Output<Record<string, PropertyType>>;
  declare readonly adopt: pulumi.Output<boolean>;
  declare readonly estimatedCount: pulumi.Output<number>;
  declare readonly state: pulumi.Output<string>;

  constructor(name: string, args: AudienceArgs, opts?: pulumi.CustomResourceOptions) {
    super("Audience", name, { ...args, name: args.name ?? name, normalizedDefinition: undefined, estimatedCount: undefined, state: undefined }, opts, [], audienceInputFailures);
  }
}
