// Device reads beyond DeviceStore's (devices.ts, to move here): audience members, notification targets, export rows.
import { DEVICE_COLUMNS, type Slot } from "../devices.ts";
import type { SqlCondition } from "../membership.ts";
import type { Query } from "../sql-worker.ts";
import type { Store } from "../store.ts";

/** A device a notification is delivered to. */
export interface DeviceTarget {
  id: number;
  installId: string;
}

/** A device's identity, push and attribute columns (custom properties in their slot columns), as stored. */
export type DeviceWithAttributesRow = Record<string, string | number | null>;

/** Which identity a notification's target list names devices by. */
const IDENTITY_COLUMNS = { installId: "install_id", userId: "user_id" } as const;

export class DeviceReads {
  constructor(private readonly store: Store) {}

  // ---- audience membership (`condition` compiled by membership.ts) ----

  matchingCountQuery(appId: number, condition: SqlCondition): Query<{ n: number }> {
    return { sql: `SELECT count(*) AS n FROM device_attributes WHERE app_id = ? AND ${condition.sql}`, params: [appId, ...condition.params] };
  }

  /** How many of the app's devices match each condition, in one pass over its rows: answers `c0`, `c1`, … in order. */
  matchingCountsQuery(appId: number, conditions: readonly SqlCondition[]): Query<Record<string, number | null>> {
    return {
      sql: `SELECT ${conditions.map((condition, i) => `sum(CASE WHEN ${condition.sql} THEN 1 ELSE 0 END) AS c${i}`).join(", ")}
            FROM device_attributes WHERE app_id = ?`,
      params: [...conditions.flatMap((condition) => condition.params), appId],
    };
  }

  /** The app's lowest and highest device id: two seeks on the primary key (one query with both would scan). */
  deviceIdRangeQuery(appId: number): Query<{ low: number | null; high: number | null }> {
    return {
      sql: `SELECT (SELECT min(device_id) FROM device_attributes WHERE app_id = ?) AS low, (SELECT max(device_id) FROM device_attributes WHERE app_id = ?) AS high`,
      params: [appId, appId],
    };
  }

  /** The app's devices with ids in [from, to), and how many of them match: one window of a sampled estimate. */
  matchingInRangeQuery(appId: number, condition: SqlCondition, from: number, to: number): Query<{ n: number; matched: number }> {
    return {
      sql: `SELECT count(*) AS n, coalesce(sum(CASE WHEN ${condition.sql} THEN 1 ELSE 0 END), 0) AS matched
            FROM device_attributes WHERE app_id = ? AND device_id >= ? AND device_id < ?`,
      params: [...condition.params, appId, from, to],
    };
  }

  /** The matching devices, at most `limit`, by id. */
  membersQuery(appId: number, condition: SqlCondition, limit: number): Query<DeviceTarget[]> {
    return {
      sql: `SELECT d.id, d.install_id AS installId FROM device_attributes a JOIN devices d ON d.id = a.device_id
            WHERE a.app_id = ? AND ${condition.sql} ORDER BY a.device_id LIMIT ?`,
      params: [appId, ...condition.params, limit],
      all: true,
    };
  }

  /** The distinct external (user) ids of the matching devices, in ordered pages. */
  *memberUserIds(appId: number, condition: SqlCondition, pageSize: number): Generator<string[]> {
    const page = this.store.db.prepare(
      `SELECT DISTINCT d.user_id AS userId FROM device_attributes a JOIN devices d ON d.id = a.device_id
       WHERE a.app_id = ? AND ${condition.sql} AND d.user_id > ? ORDER BY d.user_id LIMIT ?`,
    );
    let after = "";
    for (;;) {
      const rows = page.all(appId, ...condition.params, after, pageSize) as unknown as { userId: string }[];
      if (rows.length === 0) return;
      after = rows.at(-1)!.userId;
      yield rows.map((r) => r.userId);
    }
  }

  /** The app's custom properties with a column: a definition compiled before a new one appeared must be compiled again. */
  slotCountQuery(appId: number): Query<{ n: number }> {
    return { sql: "SELECT count(*) AS n FROM custom_property_slots WHERE app_id = ?", params: [appId] };
  }

  // ---- notification targets ----

  /** The app's first devices by id, at most `limit`. */
  first(appId: number, limit: number): DeviceTarget[] {
    return this.store.db.prepare("SELECT id, install_id AS installId FROM devices WHERE app_id = ? ORDER BY id LIMIT ?").all(appId, limit) as unknown as DeviceTarget[];
  }

  /** The app's devices with one of these install ids or user ids, by id, at most `limit`. */
  withIdentities(appId: number, identity: keyof typeof IDENTITY_COLUMNS, values: readonly string[], limit: number): DeviceTarget[] {
    return this.store.db
      .prepare(`SELECT id, install_id AS installId FROM devices WHERE app_id = ? AND ${IDENTITY_COLUMNS[identity]} IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?`)
      .all(appId, JSON.stringify(values), limit) as unknown as DeviceTarget[];
  }

  // ---- exports ----

  /** The devices of these external (user) ids with their attributes, by user and device. */
  ofUsers(appId: number, userIds: readonly string[]): DeviceWithAttributesRow[] {
    return this.store.db
      .prepare(
        `SELECT d.*, a.* FROM devices d LEFT JOIN device_attributes a ON a.app_id = d.app_id AND a.device_id = d.id
         WHERE d.app_id = ? AND d.user_id IN (SELECT value FROM json_each(?)) ORDER BY d.user_id, d.id`,
      )
      .all(appId, JSON.stringify(userIds)) as unknown as DeviceWithAttributesRow[];
  }

  /**
   * A page of the app's devices as JSON lines, for the page reader (exports/page-reader.mts): selects
   * `id` and `line` for devices after its first parameter, then `params`, then the page size. SQLite
   * writes each line: members are `"name":json_quote(value)` joined with concat_ws, which skips the
   * NULL ones — so absent values are left out without json_patch, which cost more than everything
   * else together (bench/RESULTS.md). Names in the SQL are the fixed device columns and the app's own
   * custom property names (`slots`), JSON- and SQL-quoted; no request value reaches it.
   */
  exportLinesQuery(appId: number, slots: ReadonlyMap<string, Slot>): { sql: string; params: number[] } {
    // `+d.app_id` keeps the planner off the (app_id, install_id) index: walking the rowid from the
    // last page's id makes each page O(page), where that index made each page sort the whole app.
    return {
      sql: `SELECT d.id, ${exportLine(slots)} AS line
     FROM devices d LEFT JOIN device_attributes a ON a.app_id = d.app_id AND a.device_id = d.id
     WHERE d.id > ? AND +d.app_id = ? ORDER BY d.id LIMIT ?`,
      params: [appId],
    };
  }

  /** These devices as the device export writes them (an access request's document holds the subject's devices so). */
  exportLinesOf(appId: number, slots: ReadonlyMap<string, Slot>, deviceIds: readonly number[]): string[] {
    if (deviceIds.length === 0) return [];
    const rows = this.store.db
      .prepare(
        `SELECT ${exportLine(slots)} AS line FROM devices d LEFT JOIN device_attributes a ON a.app_id = d.app_id AND a.device_id = d.id
         WHERE d.app_id = ? AND d.id IN (SELECT value FROM json_each(?)) ORDER BY d.id`,
      )
      .all(appId, JSON.stringify(deviceIds)) as { line: string }[];
    return rows.map((row) => row.line);
  }
}

/** SQL writing a device as one JSON line (see exportLinesQuery). */
function exportLine(slots: ReadonlyMap<string, Slot>): string {
  return object([
      member("install_id", "json_quote(d.install_id)"),
      member("user_id", jsonText("d.user_id")),
      member("push_channel", jsonText("d.push_channel")),
      member("push_token", jsonText("d.push_token")),
      member("properties", object(Object.entries(DEVICE_COLUMNS).map(([name, column]) => member(name, jsonText(`a.${column}`))))),
      member("custom_properties", object([...slots].map(([name, slot]) => member(name, slotJson(slot))))),
      member("updated_at", `json_quote(strftime('%Y-%m-%dT%H:%M:%fZ', d.updated_at / 1000.0, 'unixepoch'))`),
  ]);
}

/** SQL for one custom property column's JSON text, typed as its slot says; NULL when the device has none. */
function slotJson(slot: Slot): string {
  switch (slot.type) {
    case "boolean":
      return `CASE a.${slot.column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END`;
    case "date_time":
      return jsonText(`strftime('%Y-%m-%dT%H:%M:%fZ', a.${slot.column} / 1000.0, 'unixepoch')`);
    default:
      return jsonText(`a.${slot.column}`);
  }
}

/** A value as JSON text (json_quote), or NULL for a missing value, which json_quote would write as null. */
const jsonText = (value: string) => `nullif(json_quote(${value}), 'null')`;
/** `"name":value`, or NULL when the value is: concat_ws then leaves the member out. */
const member = (name: string, valueJson: string) => `${sqlString(`${JSON.stringify(name)}:`)} || ${valueJson}`;
const object = (members: string[]) => (members.length === 0 ? "'{}'" : `'{' || concat_ws(',', ${members.join(", ")}) || '}'`);
const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;
