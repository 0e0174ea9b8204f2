// Audiences: each app's definitions with their counts, the count's state, and the device change it includes.
import type { AudienceState, PropertyType } from "../../domain/index.ts";
import type { AppKey, Store } from "../store.ts";

export interface AudienceRecord {
  readonly name: string;
  readonly definition: string;
  readonly description: string | undefined;
  readonly enabled: boolean;
  readonly customProperties: Record<string, PropertyType>;
  readonly estimatedCount: number;
  readonly estimatedTotalCount: number;
  readonly state: AudienceState;
  /** False while a count is pending (stored state Calculating), whether or not the audience is enabled. */
  readonly counted: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A counted audience as count moves read it: the stored text of its definition and properties is compared on write. */
export interface CountedAudienceRow {
  name: string;
  definition: string;
  custom_properties: string;
  applied_seq: number;
}

interface AudienceRow {
  name: string;
  definition: string;
  description: string | null;
  enabled: number;
  custom_properties: string;
  estimated_count: number;
  estimated_total_count: number;
  state: string;
  created_at: string | null;
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
    state: enabled ? (row.state as AudienceState) : "Disabled",
    counted: row.state === "Ready",
    createdAt: row.created_at ?? row.updated_at,
    updatedAt: row.updated_at,
  };
}

/** Audiences with their app's device count, which is every audience's estimated_total_count. */
const SELECT_AUDIENCES = `SELECT a.*, coalesce(p.device_count, 0) AS estimated_total_count
  FROM audiences a LEFT JOIN apps p ON p.owner_name = a.owner_name AND p.app_name = a.app_name`;

export class Audiences {
  constructor(private readonly store: Store) {}

  get(key: AppKey, name: string): AudienceRecord | undefined {
    const row = this.store.db
      .prepare(`${SELECT_AUDIENCES} WHERE a.owner_name = ? AND a.app_name = ? AND a.name = ?`)
      .get(key.owner, key.app, name) as AudienceRow | undefined;
    return row ? toAudience(row) : undefined;
  }

  count(key: AppKey): number {
    const row = this.store.db.prepare("SELECT count(*) AS n FROM audiences WHERE owner_name = ? AND app_name = ?").get(key.owner, key.app) as { n: number };
    return row.n;
  }

  /** Audiences ordered by name, strictly after `after`, at most `limit`. */
  list(key: AppKey, options: { includeDisabled: boolean; after?: string; limit: number }): AudienceRecord[] {
    const rows = this.store.db
      .prepare(
        `${SELECT_AUDIENCES} WHERE a.owner_name = ? AND a.app_name = ? AND a.name > ? ${options.includeDisabled ? "" : "AND a.enabled = 1"}
         ORDER BY a.name LIMIT ?`,
      )
      .all(key.owner, key.app, options.after ?? "", options.limit) as unknown as AudienceRow[];
    return rows.map(toAudience);
  }

  /** Enabled audiences newest first (Braze's segment list: disabled ones count as archived), a page at a time. */
  newestFirst(key: AppKey, page: { offset: number; limit: number }): AudienceRecord[] {
    const rows = this.store.db
      .prepare(`${SELECT_AUDIENCES} WHERE a.owner_name = ? AND a.app_name = ? AND a.enabled = 1 ORDER BY coalesce(a.created_at, a.updated_at) DESC, a.name LIMIT ? OFFSET ?`)
      .all(key.owner, key.app, page.limit, page.offset) as unknown as AudienceRow[];
    return rows.map(toAudience);
  }

  /**
   * Creates or changes an audience; answers whether it needs a full count (new, or its definition or
   * custom property types changed — a description or enabled change keeps its count).
   */
  upsert(
    key: AppKey,
    audience: { name: string; definition: string; description: string | undefined; enabled: boolean; customProperties: Record<string, PropertyType> },
  ): boolean {
    const now = new Date().toISOString();
    const { state } = this.store.db
      .prepare(
        `INSERT INTO audiences (owner_name, app_name, name, definition, description, enabled, custom_properties, updated_at, created_at, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'Calculating')
         ON CONFLICT (owner_name, app_name, name) DO UPDATE SET
           state = CASE WHEN definition = excluded.definition AND custom_properties = excluded.custom_properties THEN state ELSE 'Calculating' END,
           definition = excluded.definition, description = excluded.description, enabled = excluded.enabled,
           custom_properties = excluded.custom_properties, updated_at = excluded.updated_at
         RETURNING state`,
      )
      .get(
        key.owner,
        key.app,
        audience.name,
        audience.definition,
        audience.description ?? null,
        audience.enabled ? 1 : 0,
        JSON.stringify(audience.customProperties),
        now,
        now,
      ) as { state: string };
    return state === "Calculating";
  }

  delete(key: AppKey, name: string): boolean {
    const result = this.store.db.prepare("DELETE FROM audiences WHERE owner_name = ? AND app_name = ? AND name = ?").run(key.owner, key.app, name);
    return Number(result.changes) > 0;
  }

  /** Custom properties declared by the app's audiences, name → type (the first declaration wins). */
  customProperties(key: AppKey): Record<string, PropertyType> {
    const rows = this.store.db
      .prepare("SELECT custom_properties FROM audiences WHERE owner_name = ? AND app_name = ? ORDER BY name")
      .all(key.owner, key.app) as unknown as { custom_properties: string }[];
    const merged: Record<string, PropertyType> = {};
    for (const row of rows) {
      for (const [name, type] of Object.entries(JSON.parse(row.custom_properties) as Record<string, PropertyType>)) merged[name] ??= type;
    }
    return merged;
  }

  // ---- counts ----

  /** The app's audiences waiting for a full count (stored state Calculating), by name. */
  awaitingCountIn(key: AppKey): AudienceRecord[] {
    const rows = this.store.db
      .prepare(`${SELECT_AUDIENCES} WHERE a.owner_name = ? AND a.app_name = ? AND a.state = 'Calculating' ORDER BY a.name`)
      .all(key.owner, key.app) as unknown as AudienceRow[];
    return rows.map(toAudience);
  }

  /** Every audience, of any app, waiting for a full count. */
  awaitingCount(): (AppKey & { name: string })[] {
    return this.store.db.prepare("SELECT owner_name AS owner, app_name AS app, name FROM audiences WHERE state = 'Calculating'").all() as unknown as (AppKey & { name: string })[];
  }

  /**
   * Stores a full count taken at device-change sequence number `atSeq` — only if the audience is still
   * the one counted (a change in between queued another count). Changes after `atSeq` are moved in
   * by the next count-moves item.
   */
  finishRecount(key: AppKey, counted: { name: string; definition: string; customProperties: Record<string, PropertyType> }, result: { estimated: number; atSeq: number }): boolean {
    const updated = this.store.db
      .prepare(
        `UPDATE audiences SET state = 'Ready', estimated_count = ?, applied_seq = ?
         WHERE owner_name = ? AND app_name = ? AND name = ? AND definition = ? AND custom_properties = ? AND state = 'Calculating'`,
      )
      .run(result.estimated, result.atSeq, key.owner, key.app, counted.name, counted.definition, JSON.stringify(counted.customProperties));
    return Number(updated.changes) > 0;
  }

  /**
   * Records an estimate as the count of an audience still waiting for its full count (so GET and the
   * PUT that made it agree); the full count replaces it. Nothing happens once the audience has changed
   * again or its count has landed.
   */
  setProvisionalCount(key: AppKey, counted: { name: string; definition: string; customProperties: Record<string, PropertyType> }, estimated: number): void {
    this.store.db
      .prepare(
        `UPDATE audiences SET estimated_count = ?
         WHERE owner_name = ? AND app_name = ? AND name = ? AND definition = ? AND custom_properties = ? AND state = 'Calculating'`,
      )
      .run(estimated, key.owner, key.app, counted.name, counted.definition, JSON.stringify(counted.customProperties));
  }

  /** The app's audiences whose count is current as of their `applied_seq` (not being recounted), by name. */
  counted(key: AppKey): CountedAudienceRow[] {
    return this.store.db
      .prepare("SELECT name, definition, custom_properties, applied_seq FROM audiences WHERE owner_name = ? AND app_name = ? AND state = 'Ready' ORDER BY name")
      .all(key.owner, key.app) as unknown as CountedAudienceRow[];
  }

  /**
   * Moves each audience's count by its members gained minus lost up to `upTo` — each only if it is
   * still as read (counted, at the same `applied_seq`, same definition); joins the caller's transaction.
   */
  moveCounts(key: AppKey, moves: readonly { audience: CountedAudienceRow; moved: number }[], upTo: number): void {
    const move = this.store.db.prepare(
      `UPDATE audiences SET estimated_count = estimated_count + ?, applied_seq = ?
       WHERE owner_name = ? AND app_name = ? AND name = ? AND state = 'Ready' AND applied_seq = ? AND definition = ? AND custom_properties = ?`,
    );
    for (const { audience, moved } of moves) {
      move.run(moved, upTo, key.owner, key.app, audience.name, audience.applied_seq, audience.definition, audience.custom_properties);
    }
  }

  /** The audience's size at the end of each day in [fromDay, toDay]: the last recorded on or before it (0 before it existed). */
  dailySizes(key: AppKey, name: string, fromDay: number, toDay: number): number[] {
    const rows = this.store.db
      .prepare("SELECT day, size FROM audience_sizes WHERE owner_name = ? AND app_name = ? AND name = ? AND day <= ? ORDER BY day")
      .all(key.owner, key.app, name, toDay) as { day: number; size: number }[];
    let at = -1;
    return Array.from({ length: toDay - fromDay + 1 }, (_, i) => {
      while (at + 1 < rows.length && rows[at + 1]!.day <= fromDay + i) at++;
      return at >= 0 ? rows[at]!.size : 0;
    });
  }

  /** The oldest device change any of the app's audiences has taken in (null without audiences). */
  oldestAppliedSeq(key: AppKey): number | null {
    return (this.store.db.prepare("SELECT min(applied_seq) AS oldest FROM audiences WHERE owner_name = ? AND app_name = ?").get(key.owner, key.app) as { oldest: number | null }).oldest;
  }
}
