// Builds @pushplane/policy-pack: the CommonJS module the Pulumi engine's policy runner loads
// (`main`), with the shared domain/ code (limits, grammar, schemas) bundled in.
import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "pack.ts" },
  format: ["cjs"],
  target: "node22",
  platform: "node",
  clean: true,
  sourcemap: true,
  external: ["@pulumi/policy", "@pulumi/pulumi", "croner", "zod"],
  tsconfig: "../provider/tsconfig.build.json",
});
