// examples/gitops, the repository layout a team copies: its GitHub Actions workflow passes
// actionlint (built from its Go module by scripts/actionlint.sh), and its policy config passes the
// pack's own check (pushplane-policy-config).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPolicyConfig } from "../../policies/config-file.ts";
import { REPO_ROOT } from "../helpers/pulumi.ts";

const EXAMPLE = join(REPO_ROOT, "examples", "gitops");
const WORKFLOWS = join(EXAMPLE, ".github", "workflows");

describe("examples/gitops", () => {
  it("has workflows that pass actionlint", { timeout: 300_000 }, () => {
    const actionlint = execFileSync("bash", [join(REPO_ROOT, "scripts", "actionlint.sh")], { encoding: "utf8" }).trim();
    const files = readdirSync(WORKFLOWS).filter((file) => /\.ya?ml$/.test(file));
    expect(files.length).toBeGreaterThan(0);
    // shellcheck and pyflakes are left out: what actionlint itself checks must not depend on what else a machine has.
    const run = () => execFileSync(actionlint, ["-shellcheck=", "-pyflakes=", ...files.map((file) => join(WORKFLOWS, file))], { encoding: "utf8" });
    expect(run).not.toThrow();
  });

  it("configures only the pack's policies, with settings, types and bounds their schemas declare", () => {
    expect(checkPolicyConfig(JSON.parse(readFileSync(join(EXAMPLE, "policy-config.json"), "utf8")))).toEqual([]);
  });
});
