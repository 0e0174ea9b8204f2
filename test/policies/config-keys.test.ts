// A misspelled policy setting is reported, not silently ignored (Pulumi passes unknown keys through).
import type { PolicyResource, ResourceValidation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { unknownConfigKeys, withConfigKeysChecked } from "../../policies/config-keys.ts";
import { CONTAINER_TYPE, containerPrivate, exportRetentionBounded } from "../../policies/exports.ts";

describe("policy config keys", () => {
  it("names a key the schema does not declare, with a guess and the real settings", () => {
    expect(unknownConfigKeys(exportRetentionBounded, { maxRetentionDays: 30, maxRetentionDay: 5, enforcementLevel: "advisory" })).toEqual([
      "policy config: 'maxRetentionDay' is not a setting of export-retention-bounded (did you mean 'maxRetentionDays'?); its settings: maxRetentionDays (the default stays in force)",
    ]);
    expect(unknownConfigKeys(containerPrivate, { anything: 1 })).toEqual(["policy config: 'anything' is not a setting of container-private; it has no settings (the default stays in force)"]);
    expect(unknownConfigKeys(exportRetentionBounded, { maxRetentionDays: 30 })).toEqual([]);
  });

  it("a wrapped resource policy reports it once, however many resources it validates, and still validates them", () => {
    const policy = withConfigKeysChecked(exportRetentionBounded);
    const reported: string[] = [];
    for (const name of ["a", "b"]) {
      const args = { type: CONTAINER_TYPE, props: { retentionDays: 365 }, urn: `urn:${name}`, name, opts: {}, getConfig: () => ({ maxRetentionDays: 30, maxRetentionDay: 400 }) } as unknown as ResourceValidationArgs;
      void (policy.validateResource as ResourceValidation)(args, (message: string) => reported.push(message));
    }
    expect(reported.filter((message) => message.startsWith("policy config:"))).toHaveLength(1);
    expect(reported.filter((message) => message.includes("retentionDays must be at most 30"))).toHaveLength(2);
  });

  it("a wrapped stack policy reports it too", () => {
    const policy = withConfigKeysChecked(containerPrivate);
    const reported: string[] = [];
    const args = { resources: [] as PolicyResource[], getConfig: () => ({ enforcementLevel: "mandatory", strict: true }) } as unknown as StackValidationArgs;
    void policy.validateStack(args, (message: string) => reported.push(message));
    expect(reported).toEqual(["policy config: 'strict' is not a setting of container-private; it has no settings (the default stays in force)"]);
  });
});
