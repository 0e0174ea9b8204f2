// The service's embedded store: one SQLite file (node:sqlite, no native addon), migrated on open.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { AudienceState, PropertyType } from "../domain/index.ts";

/** Schema versions, applied in order inside one transaction each; PRAGMA user_version records progress. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY,
     token_hash TEXT NOT NULL UNIQUE,
     owner_name TEXT NOT NULL,
     app_name TEXT NOT NULL,
     description TEXT NOT NULL DEFAULT '',
     created_at TEXT NOT NULL
   );
   CREATE TABLE audiences (
     owner_name TEXT NOT NULL,
     app_name TEXT NOT NULL,
     name TEXT NOT NULL,
     definition TEXT NOT NULL,
     description TEXT,
     enabled INTEGER NOT NULL,
     custom_properties TEXT NOT NULL,
     estimated_count INTEGER NOT NULL DEFAULT 0,
     estimated_total_count INTEGER NOT NULL DEFAULT 0,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (owner_name, app_name, name)
   );`,
];

export interface AppKey {
  readonly owner: string;
  readonly app: string;
}

export interface TokenRecord extends AppKey {
  readonly id: string;
  readonly description: string;
}

export interface AudienceRecord {
  readonly name: string;
  readonly definition: string;
  readonly description: string | undefined;
  readonly enabled: boolean;
  readonly customProperties: Record<string, PropertyType>;
  readonly estimatedCount: number;
  readonly estimatedTotalCount: number;
  readonly state: AudienceState;
  readonly updatedAt: string;
}

interface AudienceRow {
  name: string;
  definition: string;
  description: string | null;
  enabled: number;
  custom_properties: string;
  estimated_count: number;
  estimated_total_count: number;
  updated_at: string;
}

function toAudience(row: AudienceRow): AudienceRecord {
  const enabled = row.enabled === 1;
  return {
    name: row.name,
    definition: row.definition,
    description: row.description ?? undefined,
    enabled,
    customProperties: JSON.parse(row.custom_properties) as Record<string, PropertyType>,
    estimatedCount: row.estimated_count,
    estimatedTotalCount: row.estimated_total_count,
    state: enabled ? "Ready" : "Disabled",
    updatedAt: row.updated_at,
  };
}

export class Store {
  readonly db: DatabaseSync;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new DatabaseSync(join(dataDir, "pushplane.sqlite"));
    // WAL keeps readers off the writer's back; synchronous=NORMAL is durable across process crashes in WAL mode.
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
    this.migrate();
  }

  private migrate(): void {
    const { user_version: current } = this.db.prepare("PRAGMA user_version").get() as { user_version: number };
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[version]!);
        this.db.exec(`PRAGMA user_version = ${version + 1}`);
      });
    }
  }

  transaction<T>(work: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  close(): void {
    this.db.close();
  }

  // --- API tokens (stored as SHA-256 hashes; the plaintext is shown once, at creation) ---

  insertToken(token: TokenRecord & { tokenHash: string }): void {
    this.db
      .prepare("INSERT INTO api_tokens (id, token_hash, owner_name, app_name, description, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(token.id, token.tokenHash, token.owner, token.app, token.description, new Date().toISOString());
  }

  findTokenByHash(tokenHash: string): TokenRecord | undefined {
    const row = this.db
      .prepare("SELECT id, owner_name AS owner, app_name AS app, description FROM api_tokens WHERE token_hash = ?")
      .get(tokenHash) as TokenRecord | undefined;
    return row ? { ...row } : undefined;
  }

  // --- audiences ---

  getAudience(key: AppKey, name: string): AudienceRecord | undefined {
    const row = this.db
      .prepare("SELECT * FROM audiences WHERE owner_name = ? AND app_name = ? AND name = ?")
      .get(key.owner, key.app, name) as AudienceRow | undefined;
    return row ? toAudience(row) : undefined;
  }

  countAudiences(key: AppKey): number {
    const row = this.db.prepare("SELECT count(*) AS n FROM audiences WHERE owner_name = ? AND app_name = ?").get(key.owner, key.app) as { n: number };
    return row.n;
  }

  /** Audiences ordered by name, strictly after `after`, at most `limit`. */
  listAudiences(key: AppKey, options: { includeDisabled: boolean; after?: string; limit: number }): AudienceRecord[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM audiences WHERE owner_name = ? AND app_name = ? AND name > ? ${options.includeDisabled ? "" : "AND enabled = 1"}
         ORDER BY name LIMIT ?`,
      )
      .all(key.owner, key.app, options.after ?? "", options.limit) as unknown as AudienceRow[];
    return rows.map(toAudience);
  }

  upsertAudience(
    key: AppKey,
    audience: { name: string; definition: string; description: string | undefined; enabled: boolean; customProperties: Record<string, PropertyType> },
  ): void {
    this.db
      .prepare(
        `INSERT INTO audiences (owner_name, app_name, name, definition, description, enabled, custom_properties, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (owner_name, app_name, name) DO UPDATE SET
           definition = excluded.definition, description = excluded.description, enabled = excluded.enabled,
           custom_properties = excluded.custom_properties, updated_at = excluded.updated_at`,
      )
      .run(
        key.owner,
        key.app,
        audience.name,
        audience.definition,
        audience.description ?? null,
        audience.enabled ? 1 : 0,
        JSON.stringify(audience.customProperties),
        new Date().toISOString(),
      );
  }

  deleteAudience(key: AppKey, name: string): boolean {
    const result = this.db.prepare("DELETE FROM audiences WHERE owner_name = ? AND app_name = ? AND name = ?").run(key.owner, key.app, name);
    return Number(result.changes) > 0;
  }

  /** Custom properties declared by the app's audiences, name → type (the first declaration wins). */
  customProperties(key: AppKey): Record<string, PropertyType> {
    const rows = this.db
      .prepare("SELECT custom_properties FROM audiences WHERE owner_name = ? AND app_name = ? ORDER BY name")
      .all(key.owner, key.app) as unknown as { custom_properties: string }[];
    const merged: Record<string, PropertyType> = {};
    for (const row of rows) {
      for (const [name, type] of Object.entries(JSON.parse(row.custom_properties) as Record<string, PropertyType>)) merged[name] ??= type;
    }
    return merged;
  }
}
