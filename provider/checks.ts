// What every resource's `check` shares: lines said once on the engine's output, and the owner/app
// (defaulting to stack config) with a token in the stack's config that covers it.
import type * as pulumi from "@pulumi/pulumi";
import { settings, tokenCovers } from "./settings.ts";

/**
 * A line on the engine's output (a dynamic provider's stderr becomes a diagnostic of the stack), said
 * once per provider process however many resources or phases (`up` checks in its preview and again)
 * come to it.
 */
const said = new Set<string>();
export function sayOnce(line: string): void {
  if (said.has(line)) return;
  said.add(line);
  console.error(line);
}

/**
 * The resource's owner/app, or the stack's `pushplane:owner` / `pushplane:app`; missing ones become
 * failures, and so does an app no configured token covers, so a stack for several apps fails at
 * `preview`, naming the app and the config key to set, instead of halfway through `up`. When the
 * service cannot be asked, preview says so once and goes on.
 */
export async function resolveApp(given: { owner?: string | undefined; app?: string | undefined }, failures: pulumi.dynamic.CheckFailure[]): Promise<{ owner: string; app: string }> {
  const owner = given.owner ?? settings().owner;
  const app = given.app ?? settings().app;
  if (!owner) failures.push({ property: "owner", reason: "owner is not set: set it on the resource or with `pulumi config set pushplane:owner <owner>`" });
  if (!app) failures.push({ property: "app", reason: "app is not set: set it on the resource or with `pulumi config set pushplane:app <app>`" });
  if (owner && app) {
    const access = await tokenCovers({ owner, app });
    if (access.covered === false) failures.push({ property: given.app ? "app" : given.owner ? "owner" : "", reason: access.reason });
    else if (access.covered === "unknown") sayOnce(`warning: ${access.reason}; going on without knowing`);
  }
  return { owner: owner ?? "", app: app ?? "" };
}
