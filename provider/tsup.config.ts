// Builds @pushplane/pulumi: CommonJS (what Pulumi's default Node.js runtime loads, and what an ES
// module program imports as well), with the shared domain/ and client/ code bundled in and type
// declarations. ky is bundled too: it ships only as an ES module.
import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "index.ts", runtime: "runtime.ts" },
  format: ["cjs"],
  outExtension: () => ({ js: ".cjs" }),
  target: "node22",
  platform: "node",
  dts: { entry: { index: "index.ts" } },
  clean: true,
  sourcemap: true,
  noExternal: ["ky"],
  external: ["@pulumi/pulumi", "@azure/storage-blob", "croner", "zod"],
  tsconfig: "tsconfig.build.json",
});
