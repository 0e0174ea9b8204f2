// The part of each pushplane resource that Pulumi serializes into state. It captures only the
// resource kind: at run time, inside the dynamic-provider process, it loads the real
// implementation (`@pushplane/pulumi/runtime`) from the program's node_modules, so no code,
// endpoint or token is frozen into the stack, and upgrading the package upgrades the provider.
import * as pulumi from "@pulumi/pulumi";
import { checkPushplaneKeys, stackFacts } from "./stack-facts.ts";
import { readTokenMap, TOKEN_MAP_KEY } from "./token-map.ts";
import { parseInputs, RESOURCE_MODULE, secretNames, STACK_FACTS_INPUT, type AnyDeclaration, type GivenOf, type OutputsOf, type ResourceKind, type StackFacts } from "../domain/index.ts";

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

/**
 * The program side of every pushplane resource: type `pulumi-nodejs:dynamic/pushplane:<kind>`, the
 * stub provider above, and the declaration's secrets. The declaration's input check runs here, on
 * every input the program wrote as a plain value (an Output is checked by the provider once known):
 * each failure is logged as an error on this resource and the program goes on, so one preview reports
 * every bad resource, each once; the engine's check (which would stop at the first) is told, by
 * INVALID_INPUTS, that the program has already said it.
 */
export class PushplaneResource extends pulumi.dynamic.Resource {
  constructor(declaration: AnyDeclaration<ResourceKind>, name: string, args: Record<string, unknown>, opts: pulumi.CustomResourceOptions | undefined) {
    if (opts?.import !== undefined) throw new pulumi.RunError(importLimitation(declaration.kind, name));
    const facts = checkStackConfigOnce();
    const given = declaration.namedBy && args[declaration.namedBy] === undefined ? { ...args, [declaration.namedBy]: name } : args;
    const { failures } = parseInputs(declaration, given, isPendingInProgram);
    const props: pulumi.Inputs = { ...given };
    const secrets = secretNames(declaration);
    // Secret whatever the caller passed: credentials are encrypted in state.
    for (const input of secrets) if (props[input] !== undefined) props[input] = pulumi.secret(props[input]);
    for (const output of Object.keys(declaration.outputs)) props[output] = undefined;
    if (failures.length > 0) props[INVALID_INPUTS] = true;
    props[STACK_FACTS_INPUT] = facts;
    const merged = { ...opts, additionalSecretOutputs: [...secrets, ...(opts?.additionalSecretOutputs ?? [])] };
    super(providerOf(declaration.kind), name, props, merged, RESOURCE_MODULE, declaration.kind);
    for (const failure of failures) void pulumi.log.error(failure.reason, this);
    if (failures.length > 0) failProgramOnce(name);
  }
}

/** A value the program does not know yet: the provider checks it at `up`, or at preview once known. */
const isPendingInProgram = (value: unknown): boolean => pulumi.Output.isInstance(value) || value instanceof Promise;

/** Each input as a program may write it: a plain value or an Output, inside objects and arrays too. */
type Inputify<T> = T extends readonly (infer E)[] ? pulumi.Input<Inputify<E>>[] : T extends object ? { [K in keyof T]: pulumi.Input<Inputify<T[K]>> } : T;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** A resource's arguments, from its declaration; the input named after the resource becomes optional. */
export type ArgsOf<D extends AnyDeclaration> = Simplify<
  NamedOptional<{ [K in keyof GivenOf<D>]: pulumi.Input<Inputify<GivenOf<D>[K]>> }, D["namedBy"]>
>;
type NamedOptional<A, N> = N extends keyof A ? Omit<A, N> & Partial<Pick<A, N>> : A;
/** A resource object: each input (as checked) and output as a Pulumi Output. */
export type ResourceOf<D extends AnyDeclaration> = PushplaneResource & { readonly [K in keyof OutputsOf<D>]-?: pulumi.Output<OutputsOf<D>[K]> };
type ArgsParameters<D extends AnyDeclaration> = {} extends ArgsOf<D>
  ? [args?: ArgsOf<D>, opts?: pulumi.CustomResourceOptions]
  : [args: ArgsOf<D>, opts?: pulumi.CustomResourceOptions];

/** The class a program instantiates, `new Audience("us-users", { definition: … })`, made from the declaration. */
export function resourceClass<D extends AnyDeclaration<ResourceKind>>(declaration: D): new (name: string, ...rest: ArgsParameters<D>) => ResourceOf<D> {
  const Declared = class extends PushplaneResource {
    constructor(name: string, args: Record<string, unknown> = {}, opts?: pulumi.CustomResourceOptions) {
      super(declaration, name, args, opts);
    }
  };
  Object.defineProperty(Declared, "name", { value: declaration.kind });
  return Declared as unknown as new (name: string, ...rest: ArgsParameters<D>) => ResourceOf<D>;
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
 * The stack's config, looked at once in the program before anything is declared: a mistake in the
 * token map is one line naming the key (in the provider process it would surface, with a stack
 * trace, from every resource's check); misspelled and deprecated keys are warned about; and the
 * facts the pack's configuration rules judge are gathered (stack-facts.ts). Only keys and the
 * files' shapes are looked at; no token value is ever printed or recorded.
 */
let recordedFacts: StackFacts | undefined;
function checkStackConfigOnce(): StackFacts {
  if (recordedFacts) return recordedFacts;
  const config = pulumi.runtime.allConfig();
  const { warnings, errors } = checkPushplaneKeys(config);
  try {
    readTokenMap(config[TOKEN_MAP_KEY]);
    if (errors.length > 0) throw new Error(errors.join("; "));
  } catch (error) {
    throw new pulumi.RunError((error as Error).message);
  }
  for (const warning of warnings) void pulumi.log.warn(warning);
  return (recordedFacts = stackFacts(config));
}

/** Marks inputs the program already reported as invalid (runtime.ts: check passes them on, create refuses them). */
export const INVALID_INPUTS = "__pushplaneInvalidInputs";

