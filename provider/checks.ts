// What every resource's `check` shares: zod failures as Pulumi check failures, and the owner/app
// that default to stack config.
import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { settings } from "./settings.ts";

/** One failure per zod issue, on the top-level input it concerns, naming the full path. Values are never echoed. */
export function zodFailures(error: z.ZodError): pulumi.dynamic.CheckFailure[] {
  return error.issues.map((issue) => ({ property: String(issue.path[0] ?? ""), reason: `${issue.path.join(".") || "inputs"}: ${issue.message}` }));
}

/** The resource's owner/app, or the stack's `pushplane:owner` / `pushplane:app`; missing ones become failures. */
export function resolveApp(given: { owner?: string | undefined; app?: string | undefined }, failures: pulumi.dynamic.CheckFailure[]): { owner: string; app: string } {
  const owner = given.owner ?? settings().owner;
  const app = given.app ?? settings().app;
  if (!owner) failures.push({ property: "owner", reason: "owner is not set: set it on the resource or with `pulumi config set pushplane:owner <owner>`" });
  if (!app) failures.push({ property: "app", reason: "app is not set: set it on the resource or with `pulumi config set pushplane:app <app>`" });
  return { owner: owner ?? "", app: app ?? "" };
}
