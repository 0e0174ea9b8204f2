// Builds one of the repository's npm packages (run from the package's folder by its `build` script):
// CommonJS bundles with esbuild (what Pulumi's default Node.js runtime loads and what an ES module
// program imports as well; the shared domain/ and client/ code is bundled in, dependencies stay
// external except ky, which ships only as an ES module), and, for the provider, type declarations
// emitted by tsc with relative imports pointing at .js files so any module resolution finds them.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const PACKAGES = {
  provider: { entries: { index: "index.ts", runtime: "runtime.ts" }, bins: { cli: "cli.ts" }, bundled: ["ky"], types: "tsconfig.types.json" },
  policies: { entries: { index: "pack.ts" }, bins: { "config-file": "config-file.ts" }, bundled: [] },
};

const name = process.argv[2];
const spec = PACKAGES[name];
if (!spec) throw new Error(`build-package: unknown package '${name}' (one of ${Object.keys(PACKAGES).join(", ")})`);
const manifest = JSON.parse(readFileSync("package.json", "utf8"));
const external = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})].filter((dep) => !spec.bundled.includes(dep));

rmSync("dist", { recursive: true, force: true });
const bundle = (entryPoints, banner) =>
  build({
    entryPoints,
    outdir: "dist",
    outExtension: { ".js": manifest.main.endsWith(".cjs") ? ".cjs" : ".js" },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    sourcemap: true,
    external,
    logLevel: "warning",
    ...(banner ? { banner: { js: banner } } : {}),
  });
await bundle(spec.entries);
// Commands (package.json `bin`): runnable files of their own.
if (spec.bins) await bundle(spec.bins, "#!/usr/bin/env node");

if (spec.types) {
  execFileSync("tsc", ["-p", spec.types], { stdio: "inherit" });
  // Declarations keep the sources' `.ts` import specifiers; consumers resolve `.js` to the `.d.ts`.
  const walk = (dir) => readdirSync(dir).flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? walk(join(dir, entry)) : [join(dir, entry)]));
  for (const file of walk("dist/types").filter((f) => f.endsWith(".d.ts"))) {
    writeFileSync(file, readFileSync(file, "utf8").replace(/(["'])(\.{1,2}\/[^"']*)\.ts\1/g, "$1$2.js$1"));
  }
}
