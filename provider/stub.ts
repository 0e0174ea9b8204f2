// The part of each pushplane resource that Pulumi serializes into state. It captures only the
// resource kind: at run time, inside the dynamic-provider process, it loads the real
// implementation (`@pushplane/pulumi/runtime`) from the program's node_modules, so no code,
// endpoint or token is frozen into the stack, and upgrading the package upgrades the provider.
import * as pulumi from "@pulumi/pulumi";
import { readTokenMap, TOKEN_MAP_KEY } from "./token-map.ts";
import { RESOURCE_MODULE, type ResourceKind } from "../domain/index.ts";

export function dynamicProvider(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  const load = (): pulumi.dynamic.ResourceProvider => {
    const state = globalThis as { __pushplaneRuntime?: { providerFor(kind: string): pulumi.dynamic.ResourceProvider } };
    if (!state.__pushplaneRuntime) {
      // The dynamic-provider process runs in the program's directory: the package installed there.
      const fromProgram = require("node:module").createRequire(`${process.cwd()}/`);
      state.__pushplaneRuntime = fromProgram("@pushplane/pulumi/runtime");
    }
    return state.__pushplaneRuntime!.providerFor(kind);
  };
  return {
    configure: (req) => load().configure!(req),
    check: (olds, news) => load().check!(olds, news),
    diff: (id, olds, news) => load().diff!(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read!(id, props),
    update: (id, olds, news) => load().update!(id, olds, news),
    delete: (id, props) => load().delete!(id, props),
  };
}

/**
 * One provider object per kind for the whole program: Pulumi serializes a dynamic provider's code
 * once per object, so a provider per resource cost every resource a serialization (200 audiences:
 * preview 1.75× the engine's floor, bench/RESULTS.md).
 */
const providers = new Map<ResourceKind, pulumi.dynamic.ResourceProvider>();
function providerOf(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  let provider = providers.get(kind);
  if (!provider) providers.set(kind, (provider = dynamicProvider(kind)));
  return provider;
}

/**
 * Why Pulumi's import cannot take over a pushplane resource, and what does: a Node.js dynamic
 * provider's `read` gets no provider during an import (pulumi/pulumi#16175), so the engine cannot
 * reach pushplane's code; `adopt: true` takes over an existing resource instead.
 */
export const importLimitation = (kind: string, name: string): string =>
  `${kind} '${name}': pushplane resources cannot be imported (Pulumi gives a Node.js dynamic provider nothing to read with during an import, pulumi/pulumi#16175); ` +
  `declare it in the program with adopt: true instead, and \`pulumi up\` takes over the existing one, showing at preview what changes in it`;

/** An optional input made secret (credentials, connection strings), left out when not given. */
export function secretIfGiven<T>(value: pulumi.Input<T> | undefined): pulumi.Output<pulumi.Unwrap<T>> | undefined {
  return value === undefined ? undefined : pulumi.secret(value);
}

/**
 * The program side of every pushplane resource: type `pulumi-nodejs:dynamic/pushplane:<kind>`, the
 * stub provider above, and the outputs that must stay secret in state.
 */
export abstract class PushplaneResource extends pulumi.dynamic.Resource {
  /**
   * `validate`: the kind's own input check, run here on inputs the program wrote as plain values.
   * Each failure is logged as an error on this resource and the program goes on, so one preview
   * reports every bad resource, each once; the engine's check (which would stop at the first) is
   * told, by INVALID_INPUTS, that the program has already said it.
   */
  constructor(
    kind: ResourceKind,
    name: string,
    props: pulumi.Inputs,
    opts: pulumi.CustomResourceOptions | undefined,
    secretOutputs: string[] = [],
    validate?: (props: Record<string, unknown>) => pulumi.dynamic.CheckFailure[],
  ) {
    if (opts?.import !== undefined) throw new pulumi.RunError(importLimitation(kind, name));
    checkStackConfigOnce();
    const failures = validate && allPlain(props) ? validate(props) : [];
    const merged = secretOutputs.length > 0 ? { ...opts, additionalSecretOutputs: [...secretOutputs, ...(opts?.additionalSecretOutputs ?? [])] } : opts;
    super(providerOf(kind), name, failures.length > 0 ? { ...props, [INVALID_INPUTS]: true } : props, merged, RESOURCE_MODULE, kind);
    for (const failure of failures) void pulumi.log.error(failure.reason, this);
    if (failures.length > 0) failProgramOnce(name);
  }
}

/**
 * Logged errors alone do not fail a Pulumi program: once the program has declared what it declares
 * now (the current turn of the event loop), it stops with one line that counts the resources above.
 */
const invalid: string[] = [];
function failProgramOnce(name: string): void {
  invalid.push(name);
  if (invalid.length > 1) return;
  setImmediate(() => {
    throw new pulumi.RunError(`${invalid.length} pushplane resource${invalid.length === 1 ? " has" : "s have"} invalid inputs (${invalid.join(", ")}: each error above); fix them and run again`);
  });
}

/**
 * The stack's token map, checked once in the program before anything is declared: a mistake there
 * is one line naming the key (in the provider process it would surface, with a stack trace, from
 * every resource's check). Only the keys are looked at; no token value is ever printed.
 */
let stackConfigChecked = false;
function checkStackConfigOnce(): void {
  if (stackConfigChecked) return;
  stackConfigChecked = true;
  try {
    readTokenMap(pulumi.runtime.allConfig()[TOKEN_MAP_KEY]);
  } catch (error) {
    throw new pulumi.RunError((error as Error).message);
  }
}

/** Marks inputs the program already reported as invalid (runtime.ts: check passes them on, create refuses them). */
export const INVALID_INPUTS = "__pushplaneInvalidInputs";

/** Whether every input, and every value one level inside, is known now (no Output or Promise). */
function allPlain(props: pulumi.Inputs): boolean {
  const pending = (value: unknown) => pulumi.Output.isInstance(value) || value instanceof Promise;
  return Object.values(props).every((value) => !pending(value) && (typeof value !== "object" || value === null || !Object.values(value).some(pending)));
}
