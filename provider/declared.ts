// A resource's dynamic provider, derived from its declaration (domain/declare-resource.ts): `check`
// parses the inputs the way the program did, resolves the app and its token, then runs what only the
// provider can check (the service, stack config); `diff` compares every input generically. A kind's
// module adds its own steps and create/read/update/delete.
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { changedInputs, HIDDEN_INPUTS, parseInputs, STACK_FACTS_INPUT, type AnyDeclaration, type InputObject, type InputsOf } from "../domain/index.ts";
import type { AppRef } from "../client/client.ts";
import { resolveApp } from "./checks.ts";
import { isUnknown } from "./unknown.ts";

/** The inputs once `check` has passed them: defaults filled in, and the app resolved for an app's resource. */
export type Checked<D extends AnyDeclaration> = InputsOf<D> & ("owner" extends keyof D["inputs"] ? AppRef : unknown);
/** What state holds: the checked inputs and the declared outputs. */
export type Stated<D extends AnyDeclaration> = Checked<D> & z.output<InputObject<D["outputs"]>>;

export interface Implementation<D extends AnyDeclaration> {
  /**
   * The rest of `check`, what needs the service or the stack's config: failures, or the inputs as
   * they are to be applied. `olds` are the inputs in state (empty for a create).
   */
  complete?(inputs: Checked<D>, olds: Partial<Stated<D>>, pending: ReadonlySet<string>): Promise<pulumi.dynamic.CheckFailure[] | Checked<D>>;
  /** Changes the inputs alone do not show (drift the service reports, a credential due for renewal). */
  diffMore?(olds: Stated<D>, news: Checked<D>): { changes?: boolean; replaces?: string[] };
  create(inputs: Checked<D>): Promise<pulumi.dynamic.CreateResult<Stated<D>>>;
  read(id: string, props?: Stated<D>): Promise<pulumi.dynamic.ReadResult<Stated<D>>>;
  update?(id: string, olds: Stated<D>, news: Checked<D>): Promise<pulumi.dynamic.UpdateResult<Stated<D>>>;
  delete(id: string, props: Stated<D>): Promise<void>;
}

/** A kind's provider: every method but `configure` (runtime.ts adds it), `check` and `diff` always there. */
export type DeclaredProvider<D extends AnyDeclaration> = Required<Pick<pulumi.dynamic.ResourceProvider<Checked<D>, Stated<D>>, "diff" | "create" | "read" | "delete">> &
  Pick<pulumi.dynamic.ResourceProvider<Checked<D>, Stated<D>>, "update"> & {
    check(olds: Partial<Stated<D>>, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<Checked<D>>>;
  };

export function implement<D extends AnyDeclaration>(declaration: D, implementation: Implementation<D>): DeclaredProvider<D> {
  async function check(olds: Partial<Stated<D>>, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult<Checked<D>>> {
    const { inputs, pending, failures } = parseInputs(declaration, news, isUnknown);
    if (failures.length > 0) return { failures };
    const checked = inputs as Checked<D>;
    if ("owner" in declaration.inputs) {
      const resolved = await resolveApp(inputs as { owner?: string; app?: string }, failures);
      if (failures.length > 0) return { failures };
      Object.assign(checked, resolved);
    }
    // The program's record of the stack config, kept so the policy pack sees it (not an input: never diffed).
    if (news[STACK_FACTS_INPUT] !== undefined) Object.assign(checked, { [STACK_FACTS_INPUT]: news[STACK_FACTS_INPUT] });
    if (!implementation.complete) return { inputs: checked };
    const completed = await implementation.complete(checked, olds ?? {}, pending);
    return Array.isArray(completed) ? (completed.length > 0 ? { failures: completed } : { inputs: checked }) : { inputs: completed };
  }

  async function diff(_id: string, olds: Stated<D>, news: Checked<D>): Promise<pulumi.dynamic.DiffResult> {
    const { changed, replaces } = changedInputs(declaration, olds, news);
    const more = implementation.diffMore?.(olds, news) ?? {};
    const allReplaces = [...new Set([...replaces, ...(more.replaces ?? [])])];
    return { changes: changed.length > 0 || allReplaces.length > 0 || Boolean(more.changes), replaces: allReplaces, deleteBeforeReplace: false };
  }

  return {
    check,
    diff,
    create: async (inputs) => withoutHiddenOutputs(await implementation.create(inputs)),
    read: async (id, props) => withoutHiddenOutputs(await implementation.read(id, props && withoutHidden(props))),
    ...(implementation.update ? { update: async (id: string, olds: Stated<D>, news: Checked<D>) => withoutHiddenOutputs(await implementation.update!(id, olds, news)) } : {}),
    delete: (id, props) => implementation.delete(id, props),
  };
}

/**
 * The inputs the policy pack reads (the program's stack facts, the provider's estimate) are never
 * outputs: a refresh would otherwise show each of them gone on every resource.
 */
function withoutHidden<T>(props: T): T {
  if (typeof props !== "object" || props === null) return props;
  const copy = { ...props } as Record<string, unknown>;
  for (const name of Object.values(HIDDEN_INPUTS)) delete copy[name];
  return copy as T;
}
const withoutHiddenOutputs = <R extends { outs?: unknown; props?: unknown }>(result: R): R => ({
  ...result,
  ...(result.outs !== undefined ? { outs: withoutHidden(result.outs) } : {}),
  ...(result.props !== undefined ? { props: withoutHidden(result.props) } : {}),
});
