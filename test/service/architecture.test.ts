// Architecture guard: SQL and the database handle stay in the store and the repositories (one per
// aggregate, service/repositories/), so routes and background work reach data only through
// repository methods. Every service module is scanned; a violation names its file and line.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SERVICE = fileURLToPath(new URL("../../service/", import.meta.url));

/**
 * Where SQL and the handle may be: the store (schema, migrations, transactions), the repositories,
 * DeviceStore (a repository not yet moved under repositories/), and the worker threads that open a
 * connection of their own: two run the SQL text a repository built, one checkpoints the store's log.
 */
const ALLOWED_FILES = ["store.ts", "devices.ts", "sql-worker-thread.mts", "exports/page-reader.mts", "checkpoint-thread.mts"];
const ALLOWED_FOLDER = "repositories/";

/** What only the allowed files may contain, on a line of code (comments are not scanned). */
const FORBIDDEN: readonly { what: string; pattern: RegExp }[] = [
  { what: "uses the database handle", pattern: /\.db\.|\.db\)|\bstore\.db\b/ },
  { what: "opens a database", pattern: /\bDatabaseSync\b|["']node:sqlite["']/ },
  { what: "prepares a statement", pattern: /\.prepare\(/ },
  { what: "holds an SQL statement", pattern: /[`"'](SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP|PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT)\s/i },
  // Fragments a module could splice into a repository's statement (SQL here is written in capitals).
  { what: "holds an SQL clause", pattern: /\b(WHERE|ORDER BY|GROUP BY|LEFT JOIN|ON CONFLICT|RETURNING)\b|\bjson_each\(/ },
  { what: "holds an SQL comparison with a parameter", pattern: /\w\s+(=|!=|<>|<=|>=|<|>)\s*\?(?![?.:])/ },
];

/** Every .ts and .mts file under service/, as a path relative to it. */
function serviceFiles(folder = SERVICE): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return serviceFiles(path);
    return /\.m?ts$/.test(entry.name) ? [relative(SERVICE, path).replaceAll("\\", "/")] : [];
  });
}

const isAllowed = (file: string) => ALLOWED_FILES.includes(file) || file.startsWith(ALLOWED_FOLDER);

/** A line without its comment: whole-line comments and JSDoc go, and a trailing `// …` after code. */
function code(line: string): string {
  const trimmed = line.trim();
  if (trimmed.startsWith("//") || trimmed.startsWith("*") || trimmed.startsWith("/*")) return "";
  return line.replace(/(^|\s)\/\/.*$/, "");
}

/** "file:line: what — the line" for every forbidden thing in the text. */
function violations(file: string, text: string): string[] {
  return text.split("\n").flatMap((line, index) => {
    const scanned = code(line);
    return FORBIDDEN.filter(({ pattern }) => pattern.test(scanned)).map(({ what }) => `service/${file}:${index + 1}: ${what} — ${line.trim()}`);
  });
}

describe("SQL stays in the store and the repositories", () => {
  const files = serviceFiles();

  it("recognizes the handle and the SQL it guards against", () => {
    const caught = (line: string) => violations("probe.ts", line).length > 0;
    expect(caught(`this.store.db.prepare("SELECT 1").get();`)).toBe(true);
    expect(caught(`const db = store.db;`)).toBe(true);
    expect(caught(`run(this.store.db);`)).toBe(true);
    expect(caught(`const page = db.prepare(sql);`)).toBe(true);
    expect(caught(`import { DatabaseSync } from "node:sqlite";`)).toBe(true);
    expect(caught("const sql = `delete from runs`;")).toBe(true);
    expect(caught(`where += " AND archived = 0 ORDER BY id";`)).toBe(true);
    expect(caught(`const mine = "id = ? AND locked_by = ?";`)).toBe(true);
    // Code and prose that only look alike are left alone.
    expect(caught(`const next = options.descending ? "DESC" : "ASC";`)).toBe(false);
    expect(caught(`throw new ApiError("NotFound", \`audience '\${name}' not found\`);`)).toBe(false);
    expect(caught(`// SELECT in a comment is prose`)).toBe(false);
  });

  it("no module outside the allowed ones touches the database handle or holds SQL", () => {
    const found = files.filter((file) => !isAllowed(file)).flatMap((file) => violations(file, readFileSync(join(SERVICE, file), "utf8")));
    expect(found).toEqual([]);
  });

  it("every allowed file exists and needs its exemption (the list stays as small as it can)", () => {
    const needless = ALLOWED_FILES.filter((file) => !existsSync(join(SERVICE, file)) || violations(file, readFileSync(join(SERVICE, file), "utf8")).length === 0);
    expect(needless).toEqual([]);
    expect(files.some((file) => file.startsWith(ALLOWED_FOLDER))).toBe(true);
  });

  it("routes import neither node:sqlite nor the Store", () => {
    const found = files
      .filter((file) => file.startsWith("routes/"))
      .flatMap((file) => {
        const text = readFileSync(join(SERVICE, file), "utf8");
        return [...text.matchAll(/import\s+(?:type\s+)?([\s\S]*?)\s+from\s+["']([^"']+)["']/g)]
          .filter(([, names, source]) => source === "node:sqlite" || (/(^|\/)store\.ts$/.test(source!) && /\bStore\b/.test(names!)))
          .map(([statement]) => `service/${file}: ${statement!.replace(/\s+/g, " ")}`);
      });
    expect(found).toEqual([]);
  });
});
