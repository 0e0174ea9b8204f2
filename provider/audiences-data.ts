// Audiences as data: for teams whose marketers edit YAML files in a GitOps repository rather than
// code. A directory holds the audiences — one file per app (`<owner>/<app>.yaml`: a list of
// audiences, or a mapping with `audiences:`) or one per audience (`<owner>/<app>/<name>.yaml`; a
// file at the top names its owner and app inside, or leaves them to the stack's defaults) — each
// checked with the Audience declaration's own schemas. Every problem of every file is reported at
// once, each naming the file, the line and the column.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join, relative } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from "yaml";
import { audienceResource, parseInputs } from "../domain/index.ts";
import { Audience } from "./resources.ts";

/** One audience read from a file: where it is, and its inputs as the Audience resource takes them. */
export interface AudienceFromFile {
  /** `file:line` of the audience, relative to the directory. */
  at: string;
  inputs: Record<string, unknown>;
}

const YAML_EXTENSIONS = new Set([".yaml", ".yml"]);

function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return filesUnder(path);
      return YAML_EXTENSIONS.has(extname(entry)) ? [path] : [];
    });
}

/** An error listing every problem of every file: thrown once all were read. */
export class AudienceFilesError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`${problems.length} problem(s) in the audience files:\n${problems.map((problem) => `  ${problem}`).join("\n")}`);
  }
}

/**
 * Reads and checks every audience under `dir` (an AudienceFilesError lists every problem, each as
 * `file:line:column: what`).
 */
export function readAudienceFiles(dir: string): AudienceFromFile[] {
  const problems: string[] = [];
  const audiences: (AudienceFromFile & { key: string })[] = [];
  for (const path of filesUnder(dir)) {
    const file = relative(dir, path);
    const parts = file.split(/[\\/]/);
    const fromPath = parts.length === 2 ? { owner: parts[0]!, app: basename(parts[1]!, extname(parts[1]!)) } : parts.length === 3 ? { owner: parts[0]!, app: parts[1]!, name: basename(parts[2]!, extname(parts[2]!)) } : {};
    if (parts.length > 3) {
      problems.push(`${file}:1:1: too deep: files are <owner>/<app>.yaml, <owner>/<app>/<name>.yaml, or at the top naming owner and app inside`);
      continue;
    }
    const lines = new LineCounter();
    const document = parseDocument(readFileSync(path, "utf8"), { lineCounter: lines, uniqueKeys: true });
    const where = (node: YamlNode | null | undefined) => {
      const position = lines.linePos(node?.range?.[0] ?? 0);
      return `${file}:${position.line}:${position.col}`;
    };
    if (document.errors.length > 0) {
      for (const error of document.errors) problems.push(`${file}:${error.linePos?.[0]?.line ?? 1}:${error.linePos?.[0]?.col ?? 1}: YAML: ${error.message.split("\n")[0]}`);
      continue;
    }
    const root = document.contents;
    // One audience (a mapping with a definition), or several: a list, or a mapping with `audiences:`.
    const list = isSeq(root) ? root : isMap(root) && root.has("audiences") ? root.get("audiences", true) : undefined;
    const items: YamlNode[] = list ? (isSeq(list) ? (list.items as YamlNode[]) : []) : root ? [root as YamlNode] : [];
    if (list && !isSeq(list)) problems.push(`${where(list as YamlNode)}: audiences must be a list of audiences`);
    if (items.length === 0 && !list) problems.push(`${file}:1:1: no audience in the file`);
    for (const item of items) {
      if (!isMap(item)) {
        problems.push(`${where(item)}: an audience is a mapping (name, definition, description, customProperties, enabled)`);
        continue;
      }
      const given = item.toJSON() as Record<string, unknown>;
      for (const field of ["owner", "app", "name"] as const) {
        const stated = given[field];
        const implied = (fromPath as Record<string, string | undefined>)[field];
        if (implied !== undefined && stated !== undefined && stated !== implied) {
          problems.push(`${where(item.get(field, true) as YamlNode)}: ${field}: '${String(stated)}' differs from the file's place, which says '${implied}'`);
        }
      }
      const inputs = { ...fromPath, ...given };
      const { failures } = parseInputs(audienceResource, inputs, () => false);
      for (const failure of failures) {
        const node = (item.get(failure.property, true) as YamlNode | undefined) ?? item;
        problems.push(`${where(node)}: ${failure.reason}`);
      }
      if (typeof inputs.name !== "string") continue;
      const key = `${String(inputs.owner ?? "")}/${String(inputs.app ?? "")}/${inputs.name}`;
      const twice = audiences.find((earlier) => earlier.key === key);
      if (twice) problems.push(`${where(item)}: audience '${inputs.name}' is declared twice (first at ${twice.at})`);
      else audiences.push({ key, at: where(item), inputs });
    }
  }
  if (problems.length > 0) throw new AudienceFilesError(problems);
  return audiences.map(({ at, inputs }) => ({ at, inputs }));
}

/**
 * Declares an Audience resource for every audience under `dir`, named `<owner>/<app>/<name>` (the
 * stack's default app: `<name>`); answers them by that name.
 */
export function loadAudiences(dir: string, options?: pulumi.CustomResourceOptions): Record<string, Audience> {
  return Object.fromEntries(
    readAudienceFiles(dir).map(({ inputs }) => {
      const name = inputs.owner && inputs.app ? `${String(inputs.owner)}/${String(inputs.app)}/${String(inputs.name)}` : String(inputs.name);
      return [name, new Audience(name, inputs as never, options)];
    }),
  );
}
