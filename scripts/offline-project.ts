// Installs a Pulumi project outside the repository the way a user would (`npm ci`), with no network:
// its lock file is cut from this repository's, so every package resolves to a tarball npm already
// holds in its cache from the repository's own install, and pushplane's packages come from `npm pack`.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import { promisify } from "node:util";

const REPO_ROOT = resolve(import.meta.dirname, "..");

const run = promisify(execFile);

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  link?: boolean;
  [field: string]: unknown;
}

const REGISTRY = "https://registry.npmjs.org";
/** The registry's tarball URL of a package version (scoped names keep their scope in the path). */
const tarballUrl = (name: string, version: string) => `${REGISTRY}/${name}/-/${name.split("/").pop()}-${version}.tgz`;

/** Where Node would find `name` from the package at lock path `from` (nested first, then hoisted). */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dir.includes("/node_modules/") ? dir.slice(0, dir.lastIndexOf("/node_modules/")) : "") {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
  }
}

/** The repository lock's entries needed by `roots` and everything they depend on. */
function closure(packages: Record<string, LockEntry>, roots: string[]): Record<string, LockEntry> {
  const needed: Record<string, LockEntry> = {};
  const queue = roots.map((name) => `node_modules/${name}`);
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (needed[path]) continue;
    const entry = packages[path];
    if (!entry) throw new Error(`${path} is not in the repository's package-lock.json`);
    if (entry.link) throw new Error(`${path} is a workspace link, not a registry package`);
    // This repository's lock omits `resolved` (npm's default here): name the tarball, so npm takes it
    // from its cache by integrity instead of asking the registry which version is where.
    needed[path] = entry.resolved ? entry : { ...entry, resolved: tarballUrl(path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length), entry.version!) };
    const optionalPeers = entry.peerDependenciesMeta ?? {};
    const wanted = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !optionalPeers[name]?.optional),
    ];
    for (const name of wanted) {
      const found = resolveIn(packages, path, name);
      if (found) queue.push(found);
      else if (!(name in (entry.optionalDependencies ?? {}))) throw new Error(`${name} (needed by ${path}) is not in the repository's package-lock.json`);
    }
  }
  return needed;
}

/**
 * Packs the workspaces `packs` (e.g. "provider", "policies") into `dir`, writes a package.json that
 * depends on them and on `dependencies` (names as in the repository's lock, at its versions), and
 * installs with `npm ci --offline`.
 */
export async function installOfflineProject(dir: string, packs: string[], dependencies: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir, ...packs.map((p) => join(REPO_ROOT, p))], { cwd: dir, env });
  const packed = JSON.parse(stdout) as { name: string; version: string; filename: string; integrity: string }[];
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const thirdParty = closure(lock.packages, dependencies);
  const packedDeps = Object.fromEntries(packed.map((p) => [p.name, `file:${p.filename}`]));
  const versions = Object.fromEntries(dependencies.map((name) => [name, lock.packages[`node_modules/${name}`]!.version!]));
  const manifest = { name: "pushplane-user-project", version: "1.0.0", private: true, dependencies: { ...versions, ...packedDeps } };
  // A packed workspace's own dependencies must be in the closure too: they are what it needs at run time.
  const packedEntries: Record<string, LockEntry> = {};
  for (const [index, pack] of packed.entries()) {
    const own = JSON.parse(readFileSync(join(REPO_ROOT, packs[index]!, "package.json"), "utf8")) as LockEntry;
    Object.assign(thirdParty, closure(lock.packages, [...Object.keys(own.dependencies ?? {}), ...Object.keys(own.peerDependencies ?? {})]));
    packedEntries[posix.join("node_modules", pack.name)] = {
      version: pack.version,
      resolved: `file:${pack.filename}`,
      integrity: pack.integrity,
      ...(own.dependencies ? { dependencies: own.dependencies } : {}),
      ...(own.peerDependencies ? { peerDependencies: own.peerDependencies } : {}),
      // npm ci links commands from the lock's record, not the package's manifest.
      ...(own.bin ? { bin: own.bin } : {}),
    };
  }
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(
    join(dir, "package-lock.json"),
    `${JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages: { "": manifest, ...thirdParty, ...packedEntries } }, null, 2)}\n`,
  );
  await run("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 });
}
