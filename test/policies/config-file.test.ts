// `pushplane-policy-config`: a --policy-pack-config file checked against the pack — what Pulumi
// passes over (a policy name it does not know) and what the pack says only once a resource is
// checked (a misspelled setting) — each named, with a guess.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPolicyConfig, main } from "../../policies/config-file.ts";

describe("checkPolicyConfig", () => {
  // One happy-path file; each case changes one entry.
  const happy = { "export-retention-bounded": { maxRetentionDays: 14 }, "dsr-due-date": "mandatory", "audience-send-limit": { enforcementLevel: "mandatory", maxDevices: 500 } };
  it("passes a file of the pack's policies and settings, and Pulumi's own `all`", () => {
    expect(checkPolicyConfig(happy)).toEqual([]);
    expect(checkPolicyConfig({ all: "advisory", ...happy })).toEqual([]);
    expect(checkPolicyConfig({ all: { enforcementLevel: "mandatory" } })).toEqual([]);
    expect(checkPolicyConfig({ all: "loud" })).toEqual(["all: 'loud' is not an enforcement level (advisory, mandatory, remediate, disabled)"]);
  });
  it("names a policy the pack does not have, with a guess (Pulumi passes it over when it sets a level)", () => {
    expect(checkPolicyConfig({ ...happy, "export-retention-bound": { enforcementLevel: "mandatory", maxRetentionDays: 7 } })).toEqual([
      "'export-retention-bound' is not a policy of the pack (did you mean 'export-retention-bounded'?): its settings would be passed over",
    ]);
    expect(checkPolicyConfig({ "dsr-due-dates": "mandatory" })[0]).toContain("(did you mean 'dsr-due-date'?)");
  });
  it("names a misspelled setting, a wrong enforcement level, a wrong type and a value out of bounds", () => {
    expect(checkPolicyConfig({ "export-retention-bounded": { maxRetentionDay: 7 } })).toEqual([
      "export-retention-bounded: 'maxRetentionDay' is not a setting of export-retention-bounded (did you mean 'maxRetentionDays'?); its settings: maxRetentionDays (the default stays in force)",
    ]);
    expect(checkPolicyConfig({ "dsr-due-date": "warn" })).toEqual(["dsr-due-date: 'warn' is not an enforcement level (advisory, mandatory, remediate, disabled)"]);
    expect(checkPolicyConfig({ "export-retention-bounded": { maxRetentionDays: "thirty" } })).toEqual(['export-retention-bounded.maxRetentionDays: must be an integer, got "thirty"']);
    expect(checkPolicyConfig({ "data-export-token-lifetime": { maxLifetimeDays: 200 } })).toEqual(["data-export-token-lifetime.maxLifetimeDays: must be at most 184, got 200"]);
    expect(checkPolicyConfig({ "export-sas-least-privilege": { allowedPermissions: "cwx" } })).toEqual(["export-sas-least-privilege.allowedPermissions: 'cwx' does not match ^[racwdl]*$"]);
  });
  it("is the command's verdict: exit 1 and one line a problem, exit 0 when clean", () => {
    const dir = mkdtempSync(join(tmpdir(), "pushplane-policy-config-"));
    const file = (name: string, config: unknown) => {
      writeFileSync(join(dir, name), JSON.stringify(config));
      return join(dir, name);
    };
    let printed = "";
    expect(main([file("bad.json", { "export-retention-bound": "mandatory" })], (text) => (printed += text))).toBe(1);
    expect(printed).toContain("bad.json: 'export-retention-bound' is not a policy of the pack");
    expect(main([file("good.json", happy)], () => {})).toBe(0);
    expect(main([join(dir, "missing.json")], () => {})).toBe(1);
  });
});
