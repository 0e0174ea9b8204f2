// pushplane as a user gets it: the provider and the policy pack packed with `npm pack`, installed with
// `npm ci` into a fresh project outside the repository (no tsx, no nodeargs: Pulumi's default Node.js
// runtime, the program in TypeScript or in JavaScript), then up → preview (no changes) → preview with
// the installed policy pack → destroy on the real engine, for two apps in one stack.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installOfflineProject } from "../../scripts/offline-project.ts";
import { E2E_TIMEOUT, startEngineSuite, TestStack } from "../helpers/pulumi.ts";
import type { TestService } from "../helpers/service.ts";

const run = promisify(execFile);
let service: TestService;
let endpoint: string;
beforeAll(async () => ({ service, endpoint } = await startEngineSuite()));
afterAll(async () => service?.close());

/** What `pulumi new typescript` writes, with the program's TypeScript as the user has it. */
const TSCONFIG = {
  compilerOptions: {
    strict: true,
    outDir: "bin",
    target: "es2020",
    module: "commonjs",
    moduleResolution: "node",
    // The TypeScript this repository's lock holds is 6.x, which warns about node10 resolution.
    ignoreDeprecations: "6.0",
    sourceMap: true,
    experimentalDecorators: true,
    noFallthroughCasesInSwitch: true,
    noImplicitReturns: true,
    forceConsistentCasingInFileNames: true,
  },
  files: ["index.ts"],
};

const PROGRAMS = {
  typescript: {
    file: "index.ts",
    source: `import { Audience } from "@pushplane/pulumi";

export const counts = ["ios", "android"].map((app) => {
  const usUsers = new Audience(\`\${app}-us-users\`, { owner: "acme", app, name: "us-users", definition: "carrierCountry eq 'US'" });
  return usUsers.estimatedCount;
});
`,
  },
  javascript: {
    file: "index.js",
    source: `"use strict";
const { Audience } = require("@pushplane/pulumi");

exports.counts = ["ios", "android"].map((app) => {
  const usUsers = new Audience(\`\${app}-us-users\`, { owner: "acme", app, name: "us-users", definition: "carrierCountry eq 'US'" });
  return usUsers.estimatedCount;
});
`,
  },
};

describe.each(Object.keys(PROGRAMS) as (keyof typeof PROGRAMS)[])("the packed provider in a fresh %s project", (language) => {
  const projectDir = mkdtempSync(join(tmpdir(), `pushplane-user-${language}-`));
  const stack = new TestStack(projectDir);
  afterAll(() => {
    stack.dispose();
    rmSync(projectDir, { recursive: true, force: true });
  });

  it("installs with npm ci and without anything server-side", { timeout: E2E_TIMEOUT }, async () => {
    const program = PROGRAMS[language];
    await installOfflineProject(projectDir, ["provider", "policies"], ["@pulumi/pulumi", ...(language === "typescript" ? ["typescript", "@types/node"] : [])], stack.env);
    writeFileSync(join(projectDir, "Pulumi.yaml"), `name: acme-push-${language}\nruntime: nodejs\nmain: ${program.file}\n`);
    writeFileSync(join(projectDir, program.file), program.source);
    if (language === "typescript") writeFileSync(join(projectDir, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
    const installed = readdirSync(join(projectDir, "node_modules"));
    for (const serverSide of ["fastify", "azurite", "tsx", "esbuild"]) expect(installed, serverSide).not.toContain(serverSide);
    expect(readdirSync(join(projectDir, "node_modules", "@pulumi"))).not.toContain("azure-native");
    // The package's type declarations hold up in the user's strict, CommonJS-resolving tsconfig.
    if (language === "typescript") await run(join(projectDir, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", "."], { cwd: projectDir, env: stack.env });
  });

  it("up, preview with no changes, preview with the installed policy pack, destroy, for two apps in one stack", { timeout: E2E_TIMEOUT }, async () => {
    // Each language its own owner, so the two projects' audiences never meet.
    const owner = `acme-${language}`;
    writeFileSync(join(projectDir, PROGRAMS[language].file), PROGRAMS[language].source.replaceAll('owner: "acme"', `owner: "${owner}"`));
    const tokens = { ios: service.tokenFor(owner, "ios"), android: service.tokenFor(owner, "android") };
    await stack.init({ "pushplane:endpoint": endpoint }, { [`pushplane:apiTokens["${owner}/ios"]`]: tokens.ios, [`pushplane:apiTokens["${owner}/android"]`]: tokens.android });
    const up = await stack.ok("up", "--yes");
    expect(up.output).toContain("+ 3 created");
    for (const app of ["ios", "android"] as const) {
      const audience = await fetch(`${endpoint}/v0.1/apps/${owner}/${app}/analytics/audiences/us-users`, { headers: { "x-api-token": tokens[app] } });
      expect(await audience.json()).toMatchObject({ definition: "carrierCountry eq 'US'" });
    }
    await stack.ok("preview", "--expect-no-changes");
    const checked = await stack.ok("preview", "--expect-no-changes", "--policy-pack", join(projectDir, "node_modules", "@pushplane", "policy-pack"));
    expect(checked.output).toMatch(/pushplane@v\d+\.\d+\.\d+ \(local: /);
    // The installed `pushplane review` command reads the engine's streaming JSON of a preview.
    stack.env.PULUMI_ENABLE_STREAMING_JSON_PREVIEW = "1";
    const json = await stack.pulumi("preview", "--json", "--policy-pack", join(projectDir, "node_modules", "@pushplane", "policy-pack"));
    delete stack.env.PULUMI_ENABLE_STREAMING_JSON_PREVIEW;
    const previewFile = join(projectDir, "preview.json");
    writeFileSync(previewFile, json.stdout);
    const { stdout: review } = await run(join(projectDir, "node_modules", ".bin", "pushplane"), ["review", `${language}=${previewFile}`], { cwd: projectDir, env: stack.env });
    expect(review.split("\n")[0]).toBe("**pushplane review: ✅ no changes**");
    expect(review).toContain(`### Stack \`${language}\``);
    expect(review).not.toContain("could not read");
    const destroy = await stack.ok("destroy", "--yes");
    expect(destroy.output).toContain("3 deleted");
  });
});
