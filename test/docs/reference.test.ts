// The reference is generated from the declarations: a change to a resource, the stack config or a
// policy that is not regenerated (`npm run docs`) fails here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RESOURCE_DECLARATIONS, PROVIDER_CONFIG } from "../../domain/index.ts";
import { policies } from "../../policies/index.ts";
import { REFERENCE_PATH, renderReference } from "../../scripts/reference.ts";

describe("docs/reference.md", () => {
  it("is what the declarations render (run `npm run docs` after changing one)", () => {
    expect(readFileSync(REFERENCE_PATH, "utf8"), "docs/reference.md is stale: run `npm run docs`").toBe(renderReference());
  });

  it("names every resource's inputs and outputs, every stack config key and every policy's config", () => {
    const page = renderReference();
    for (const declaration of Object.values(RESOURCE_DECLARATIONS)) {
      expect(page).toContain(`### ${declaration.kind}`);
      for (const name of [...Object.keys(declaration.inputs), ...Object.keys(declaration.outputs)]) expect(page).toContain(`| \`${name}\` |`);
    }
    for (const spec of Object.values(PROVIDER_CONFIG)) expect(page).toContain(`| \`${spec.key}\` |`);
    for (const policy of policies) {
      expect(page).toContain(`### ${policy.name}`);
      for (const name of Object.keys(policy.configSchema?.properties ?? {})) expect(page).toContain(`| \`${name}\` |`);
    }
  });
});
