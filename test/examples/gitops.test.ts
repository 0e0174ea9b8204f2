// examples/gitops, the repository layout a team copies: its GitHub Actions workflow passes
// actionlint (built from its Go module by scripts/actionlint.sh), and its policy config names only
// policies of the pack and keys of their config schemas, with values of the schemas' types.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { policies } from "../../policies/index.ts";
import { REPO_ROOT } from "../helpers/pulumi.ts";

const EXAMPLE = join(REPO_ROOT, "examples", "gitops");
const WORKFLOWS = join(EXAMPLE, ".github", "workflows");
const ENFORCEMENT_LEVELS = ["advisory", "mandatory", "remediate", "disabled"];

describe("examples/gitops", () => {
  it("has workflows that pass actionlint", { timeout: 300_000 }, () => {
    const actionlint = execFileSync("bash", [join(REPO_ROOT, "scripts", "actionlint.sh")], { encoding: "utf8" }).trim();
    const files = readdirSync(WORKFLOWS).filter((file) => /\.ya?ml$/.test(file));
    expect(files.length).toBeGreaterThan(0);
    // shellcheck and pyflakes are left out: what actionlint itself checks must not depend on what else a machine has.
    const run = () => execFileSync(actionlint, ["-shellcheck=", "-pyflakes=", ...files.map((file) => join(WORKFLOWS, file))], { encoding: "utf8" });
    expect(run).not.toThrow();
  });

  it("configures only the pack's policies, with keys and value types their schemas declare", () => {
    const config = JSON.parse(readFileSync(join(EXAMPLE, "policy-config.json"), "utf8")) as Record<string, unknown>;
    const byName = new Map(policies.map((policy) => [policy.name, policy]));
    const problems: string[] = [];
    for (const [name, value] of Object.entries(config)) {
      const policy = byName.get(name);
      if (!policy) {
        problems.push(`${name}: not a policy of the pack`);
        continue;
      }
      if (typeof value === "string") {
        if (!ENFORCEMENT_LEVELS.includes(value)) problems.push(`${name}: '${value}' is not an enforcement level`);
        continue;
      }
      const properties = (policy.configSchema?.properties ?? {}) as Record<string, { type?: string }>;
      for (const [key, setting] of Object.entries(value as Record<string, unknown>)) {
        if (key === "enforcementLevel") {
          if (!ENFORCEMENT_LEVELS.includes(String(setting))) problems.push(`${name}.${key}: '${String(setting)}' is not an enforcement level`);
          continue;
        }
        const schema = properties[key];
        if (!schema) problems.push(`${name}.${key}: not in the policy's config schema`);
        else if ((schema.type === "integer" ? "number" : schema.type) !== typeof setting) problems.push(`${name}.${key}: a ${schema.type}, got ${typeof setting}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
