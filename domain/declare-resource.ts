// How a pushplane resource is declared, once: its inputs and outputs as zod schemas, each with what
// it means, which document bounds it, whether it is secret and whether a change replaces the
// resource. The program-side types and classes, `check`, the generic `diff`, the secret outputs and
// the reference docs are all derived from a declaration (provider/declared.ts, scripts/reference.ts).
import { HIDDEN_INPUTS } from "./hidden-inputs.ts";
import { z } from "zod";
import { didYouMean } from "./definition/typecheck.ts";
import type { Limit } from "./limits.ts";
import { PROVIDER_CONFIG } from "./provider-config.ts";

export interface FieldSpec<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  /** What the field means, for the reference and the program's types. */
  readonly doc: string;
  /** Encrypted in state: made secret in the program whatever is passed, and kept secret as an output. */
  readonly secret?: boolean;
  /** A change makes a new resource (created before the old one is deleted). */
  readonly replaces?: boolean;
  /** Says how pushplane acts, not what the service holds: a change alone updates nothing. */
  readonly inert?: boolean;
  /** The limits the value is checked against; each names the document it comes from. */
  readonly limits?: readonly Limit[];
  /** The default, in words, where it is not a literal in the schema (a config key, the resource name). */
  readonly defaultText?: string;
}

/** One problem with one input, in the program's own spelling (`segment.segmentId: …`). */
export interface InputFailure {
  /** The top-level input, which Pulumi attaches the message to. */
  readonly property: string;
  readonly reason: string;
}

export type Fields = Record<string, FieldSpec>;
type Shape<F extends Fields> = { -readonly [K in keyof F]: F[K]["schema"] };
export type InputObject<F extends Fields> = z.ZodObject<Shape<F>>;

export interface ResourceDeclaration<K extends string = string, I extends Fields = Fields, O extends Fields = Fields> {
  readonly kind: K;
  /** One paragraph: what the resource is, in the service's terms. */
  readonly doc: string;
  /** The contract or seed document the resource implements. */
  readonly source: string;
  readonly inputs: I;
  /** What the provider adds to the inputs once the resource exists. */
  readonly outputs: O;
  /** The input that defaults to the resource's (Pulumi) name. */
  readonly namedBy?: keyof I & string;
  /**
   * Checks across inputs that need no service and no stack config, on parsed inputs. `pending` names
   * the top-level inputs not known yet (computed from a resource that does not exist at preview).
   */
  refine?(inputs: z.output<InputObject<I>>, pending: ReadonlySet<string>): InputFailure[];
  /** How an input compares when its JSON does not tell (a definition: by its normalized text). */
  readonly compareAs?: { readonly [N in keyof I]?: Bivariant<(value: z.output<I[N]["schema"]>, inputs: z.output<InputObject<I>>) => unknown> };
}

/** A function type checked like a method (its parameters bivariantly), so a declaration fits the general type. */
type Bivariant<F extends (...args: never[]) => unknown> = { method(...args: Parameters<F>): ReturnType<F> }["method"];

/** Any declaration (its fields' types erased): what generic code takes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDeclaration<K extends string = string> = ResourceDeclaration<K, any, any>;

export function declareResource<K extends string, I extends Fields, O extends Fields>(declaration: ResourceDeclaration<K, I, O>): ResourceDeclaration<K, I, O> {
  return declaration;
}

/**
 * The owner and app a resource belongs to (App Center's `/apps/{owner_name}/{app_name}`), defaulting
 * to the stack's config; the provider checks at preview that a configured token covers the app.
 */
export const appFields = (effect: { replaces: boolean }) =>
  ({
    owner: { schema: z.string().min(1).optional(), doc: "The app's owner (user or organization) in the service.", defaultText: `stack config ${PROVIDER_CONFIG.owner.key}`, ...effect },
    app: { schema: z.string().min(1).optional(), doc: "The app's name in the service; a token in the stack's config must cover owner/app.", defaultText: `stack config ${PROVIDER_CONFIG.app.key}`, ...effect },
  }) satisfies Fields;

/** Take over what exists instead of failing: an input every resource that can meet an existing one has. */
export const adoptField = (what: string) =>
  ({
    schema: z.boolean().default(false),
    doc: `Take over ${what} that already exists instead of failing; the preview shows what in it changes.`,
    inert: true,
  }) satisfies FieldSpec;

/** The zod object of a declaration's inputs (unknown keys are dropped, as Pulumi adds its own). */
const objects = new WeakMap<AnyDeclaration, z.ZodObject>();
export function inputObject<I extends Fields>(declaration: ResourceDeclaration<string, I, Fields>): InputObject<I> {
  let object = objects.get(declaration);
  if (!object) {
    object = z.object(Object.fromEntries(Object.entries(declaration.inputs).map(([name, field]) => [name, field.schema])));
    objects.set(declaration, object);
  }
  return object as unknown as InputObject<I>;
}

/** The inputs once checked: defaults filled in. */
export type InputsOf<D extends AnyDeclaration> = z.output<InputObject<D["inputs"]>>;
/** The outputs: the checked inputs and what the provider adds. */
export type OutputsOf<D extends AnyDeclaration> = InputsOf<D> & z.output<InputObject<D["outputs"]>>;
/** The inputs as a program writes them (before defaults). */
export type GivenOf<D extends AnyDeclaration> = z.input<InputObject<D["inputs"]>>;

/** Pulumi's "unknown" sentinel: Pulumi hands it to a provider in place of a value computed later. */
export type IsPending = (value: unknown) => boolean;

/**
 * What is wrong with a resource's inputs, without the service or stack config: the schema, then the
 * declaration's own checks. Runs in the program (so one preview lists every bad resource) and again
 * in the provider's `check`. Inputs whose value is pending are checked once known. `given` may carry
 * keys the program did not write (Pulumi's `__provider`, the outputs' placeholders): those starting
 * with `__` and outputs are left alone; any other unknown key is a misspelling, and gets a "did you mean".
 */
const HIDDEN_INPUT_NAMES: ReadonlySet<string> = new Set(Object.values(HIDDEN_INPUTS));

export function parseInputs<D extends AnyDeclaration>(
  declaration: D,
  given: Record<string, unknown>,
  isPending: IsPending,
): { inputs: InputsOf<D>; pending: ReadonlySet<string>; failures: InputFailure[] } {
  const pending = new Set(Object.keys(given).filter((key) => key in declaration.inputs && containsPending(given[key], isPending)));
  const whole = inputObject(declaration);
  const schema = pending.size === 0 ? whole : whole.omit(Object.fromEntries([...pending].map((key) => [key, true])) as never);
  const parsed = schema.safeParse(given);
  const failures = parsed.success ? [] : parsed.error.issues.map(failureOf);
  for (const key of Object.keys(given)) {
    if (key in declaration.inputs || key in declaration.outputs || key.startsWith("__") || HIDDEN_INPUT_NAMES.has(key)) continue;
    const guess = didYouMean(key, Object.keys(declaration.inputs));
    failures.push({ property: key, reason: `${key}: ${declaration.kind} has no input '${key}'${guess ? ` (did you mean '${guess}'?)` : ""}` });
  }
  const pendingValues = Object.fromEntries([...pending].map((key) => [key, given[key]]));
  const inputs = { ...(parsed.data ?? {}), ...pendingValues } as InputsOf<D>;
  if (failures.length === 0 && declaration.refine) failures.push(...declaration.refine(inputs, pending).filter((failure) => !pending.has(failure.property)));
  return { inputs, pending, failures };
}

/** One failure per zod issue, on the top-level input it concerns, naming the full path. Values are never echoed. */
export function failureOf(issue: z.core.$ZodIssue): InputFailure {
  return { property: String(issue.path[0] ?? ""), reason: `${issue.path.join(".") || "inputs"}: ${issue.message}` };
}

function containsPending(value: unknown, isPending: IsPending): boolean {
  if (isPending(value)) return true;
  if (typeof value !== "object" || value === null) return false;
  return Object.values(value).some((inner) => containsPending(inner, isPending));
}

/** The value an input takes when left out (its schema's default; undefined when it has none). */
export function defaultOf(field: FieldSpec): unknown {
  const parsed = field.schema.safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
}

/** JSON with object keys sorted: two values compare equal when they mean the same. */
export function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, inner: unknown) =>
    inner && typeof inner === "object" && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : inner,
  );
}

/**
 * Which inputs differ between the state (`olds`, written by any earlier version, so a missing input
 * takes its default) and the checked inputs, and which of those replace the resource.
 */
export function changedInputs<D extends AnyDeclaration>(declaration: D, olds: Record<string, unknown>, news: Record<string, unknown>): { changed: string[]; replaces: string[] } {
  const changed: string[] = [];
  const compareAs = (declaration.compareAs ?? {}) as Record<string, ((value: unknown, inputs: Record<string, unknown>) => unknown) | undefined>;
  for (const [name, field] of Object.entries(declaration.inputs as Fields)) {
    if (field.inert) continue;
    const before = olds[name] === undefined ? defaultOf(field) : olds[name];
    const after = news[name] === undefined ? defaultOf(field) : news[name];
    const view = compareAs[name];
    if (canonical(view && before !== undefined ? view(before, olds) : before) !== canonical(view && after !== undefined ? view(after, news) : after)) changed.push(name);
  }
  return { changed, replaces: changed.filter((name) => declaration.inputs[name]!.replaces) };
}

/** The names of the secret inputs and outputs: made secret in the program, encrypted in state. */
export function secretNames(declaration: AnyDeclaration): string[] {
  return [...Object.entries(declaration.inputs as Fields), ...Object.entries(declaration.outputs as Fields)].filter(([, field]) => field.secret).map(([name]) => name);
}
