// What the program records for the policy pack's configuration rules: secrecy read from the config
// files leaf by leaf (a partly secret map, a plaintext copy in Pulumi.yaml), the SDK's answer when
// there is no stack file; misspelled and deprecated keys.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPushplaneKeys, stackFacts } from "../../provider/stack-facts.ts";

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "pushplane-facts-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
const SECURE = "{ secure: v1:abc }";

describe("stackFacts", () => {
  const config = { "pushplane:endpoint": "https://user:pw@push.example.com:8443/api?x=1", "pushplane:apiToken": "pp_x", "pushplane:apiTokens": '{"acme/ios":"a","acme/demo":"b"}' };

  it("reads secrecy from the stack file, entry by entry, and keeps only the endpoint's origin", () => {
    const dir = project({
      "Pulumi.yaml": "name: p\nruntime: nodejs\n",
      "Pulumi.prod.yaml": `config:\n  pushplane:apiToken:\n    secure: v1:abc\n  pushplane:apiTokens:\n    acme/ios: ${SECURE}\n    acme/demo: pp_plaintext\n`,
    });
    const facts = stackFacts(config, { dir, stack: "prod", isSecret: () => true });
    expect(facts).toEqual({
      endpoint: "https://push.example.com:8443",
      credentials: [
        { key: "pushplane:apiToken", kind: "secret", file: "Pulumi.prod.yaml" },
        { key: 'pushplane:apiTokens["acme/demo"]', kind: "plaintext", file: "Pulumi.prod.yaml" },
      ],
    });
    expect(JSON.stringify(facts)).not.toContain("pp_");
  });

  it("finds a plaintext copy in Pulumi.yaml even when the stack file holds the key as a secret", () => {
    const dir = project({
      "Pulumi.yaml": "name: p\nruntime: nodejs\nconfig:\n  pushplane:apiToken:\n    value: pp_committed\n  pushplane:owner: acme\n",
      "Pulumi.prod.yaml": "config:\n  pushplane:apiToken:\n    secure: v1:abc\n",
    });
    expect(stackFacts({ "pushplane:apiToken": "pp_x" }, { dir, stack: "prod", isSecret: () => true }).credentials).toEqual([
      { key: "pushplane:apiToken", kind: "plaintext", file: "Pulumi.yaml" },
      { key: "pushplane:apiToken", kind: "secret", file: "Pulumi.prod.yaml" },
    ]);
  });

  it("asks the SDK when there is no stack file (another --config-file), and says when it cannot tell", () => {
    const dir = project({ "Pulumi.yaml": "name: p\nruntime: nodejs\n" });
    expect(stackFacts({ "pushplane:apiToken": "pp_x" }, { dir, stack: "prod", isSecret: () => false }).credentials).toEqual([{ key: "pushplane:apiToken", kind: "plaintext" }]);
    expect(stackFacts({ "pushplane:apiToken": "pp_x" }, { dir, stack: "prod", isSecret: undefined }).credentials).toEqual([{ key: "pushplane:apiToken", kind: "unknown" }]);
  });
});

describe("checkPushplaneKeys", () => {
  it("warns about a key that is not a setting, with a guess", () => {
    expect(checkPushplaneKeys({ "pushplane:apitoken": "pp_x" }).warnings).toEqual([
      "pushplane:apitoken is not a pushplane setting (did you mean pushplane:apiToken?): the provider ignores it, so pushplane:apiToken stays unset",
    ]);
  });
  it("refuses a deprecated bound that cannot hold, and warns about one that can", () => {
    expect(checkPushplaneKeys({ "pushplane:sasMaxLifetimeDays": "abc", "pushplane:sasAllowedPermissions": "cwz" }).errors).toEqual([
      "pushplane:sasAllowedPermissions 'cwz' is not a set of SAS permission letters (r a c w d l): the bound it was set for would not hold",
      "pushplane:sasMaxLifetimeDays 'abc' is not a number of days above 0: the bound it was set for would not hold",
    ]);
    expect(checkPushplaneKeys({ "pushplane:sasAllowedPermissions": "" }).errors).toHaveLength(1);
    const fine = checkPushplaneKeys({ "pushplane:sasMaxLifetimeDays": "14" });
    expect(fine.errors).toEqual([]);
    expect(fine.warnings[0]).toContain("pushplane:sasMaxLifetimeDays is deprecated");
  });
});
