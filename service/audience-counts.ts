// Audience sizes, kept exact without recounting on every device change. A device change evaluates
// the changed devices against the app's audiences inside its own write transaction (work
// proportional to audiences, not to devices × audiences) and moves each count by the difference.
// A new or changed definition needs a full count: it runs as a background item on a worker thread
// (never on the event loop), from a snapshot taken at a known device-change sequence number; the
// changes committed after that snapshot are logged per audience while it is `Calculating` and added
// when the count lands, so the result is exact. States: `Calculating` → `Ready` (swagger:
// AudienceProcessingState).
import { parseDefinition, type CustomProperties, type Expression } from "../domain/index.ts";
import type { Slot } from "./devices.ts";
import { compileDefinition, type SqlCondition } from "./membership.ts";
import type { Runner } from "./runner.ts";
import type { SqlWorkers } from "./sql-worker.ts";
import type { AppKey, Store } from "./store.ts";

export interface AudienceCounts {
  estimated: number;
  total: number;
}

const RECOUNT = "audience.recount";
interface RecountPayload {
  appId: number;
  owner: string;
  app: string;
  name: string;
}

/** Parsed definitions by text: compiling an app's audiences again after a change reparses none of them. */
const parsed = new Map<string, Expression>();
function parseCached(definition: string): Expression {
  let expression = parsed.get(definition);
  if (!expression) {
    if (parsed.size > 10_000) parsed.clear();
    parsed.set(definition, (expression = parseDefinition(definition)));
  }
  return expression;
}

/** One statement evaluating every audience of an app on one device: 1 (member) or 0 per audience. */
interface MembershipProbe {
  readonly version: string;
  readonly audiences: readonly string[];
  readonly statement: ReturnType<Store["db"]["prepare"]> | undefined;
  readonly params: readonly (string | number)[];
}

/** The effect of one transaction's device changes on an app's audience counts. */
export class DeviceChangeBatch {
  private readonly deltas: Int32Array;
  private devicesDelta = 0;

  constructor(
    private readonly store: Store,
    private readonly key: AppKey,
    private readonly appId: number,
    private probe: MembershipProbe,
    private readonly reprobe: () => MembershipProbe,
  ) {
    this.deltas = new Int32Array(probe.audiences.length);
  }

  /** Each existing device's membership per audience now; a device without attributes is absent. */
  memberships(deviceIds: readonly number[]): Map<number, Uint8Array> {
    const result = new Map<number, Uint8Array>();
    if (deviceIds.length === 0) return result;
    const ids = JSON.stringify(deviceIds);
    if (!this.probe.statement) {
      const rows = this.store.db
        .prepare("SELECT device_id FROM device_attributes WHERE app_id = ? AND device_id IN (SELECT value FROM json_each(?))")
        .all(this.appId, ids) as unknown as { device_id: number }[];
      for (const row of rows) result.set(row.device_id, new Uint8Array(0));
      return result;
    }
    const rows = this.probe.statement.all(...this.probe.params, this.appId, ids) as unknown as Record<string, number>[];
    for (const row of rows) {
      const membership = new Uint8Array(this.probe.audiences.length);
      for (let i = 0; i < membership.length; i++) membership[i] = row[`m${i}`] === 1 ? 1 : 0;
      result.set(row.device_id!, membership);
    }
    return result;
  }

  /** Custom property slots were added: a comparison that matched nothing may now name a column. */
  slotsChanged(): void {
    // The audiences are the same (same version): only the compiled SQL changes, so deltas stay aligned.
    this.probe = this.reprobe();
  }

  record(before: Uint8Array | undefined, after: Uint8Array | undefined): void {
    this.devicesDelta += (after ? 1 : 0) - (before ? 1 : 0);
    for (let i = 0; i < this.deltas.length; i++) this.deltas[i]! += (after?.[i] ?? 0) - (before?.[i] ?? 0);
  }

  /** Applies the batch: moves the counts, and logs the moves of audiences whose full count is pending. */
  finish(): void {
    const db = this.store.db;
    const { device_seq: seq } = db
      .prepare("UPDATE apps SET device_seq = device_seq + 1, device_count = device_count + ? WHERE id = ? RETURNING device_seq")
      .get(this.devicesDelta, this.appId) as { device_seq: number };
    // A count pending for an audience keeps showing its last count; its moves wait in the log.
    const move = db.prepare(
      `UPDATE audiences SET estimated_count = estimated_count + CASE state WHEN 'Calculating' THEN 0 ELSE ? END
       WHERE owner_name = ? AND app_name = ? AND name = ? RETURNING state`,
    );
    const log = db.prepare("INSERT INTO audience_count_deltas (app_id, audience, seq, delta) VALUES (?, ?, ?, ?)");
    this.probe.audiences.forEach((name, i) => {
      const delta = this.deltas[i]!;
      if (delta === 0) return;
      const moved = move.get(delta, this.key.owner, this.key.app, name) as { state: string } | undefined;
      if (moved?.state === "Calculating") log.run(this.appId, name, seq, delta);
    });
  }
}

export class AudienceCounter {
  private readonly probes = new Map<number, MembershipProbe>();

  constructor(
    private readonly store: Store,
    private readonly slotsOf: (appId: number) => Map<string, Slot>,
    private readonly workers: SqlWorkers,
    private readonly runner: Runner,
  ) {
    runner.register<RecountPayload>(RECOUNT, {
      run: (payload, context) => this.recount(payload, context.signal),
      // A count that keeps failing leaves the audience Calculating; the dead item says why.
      maxAttempts: 5,
      timeoutMs: 600_000,
    });
  }

  /** The SQL condition of a definition in an app (its custom property columns as of now). */
  condition(appId: number, definition: string, customProperties: CustomProperties): SqlCondition {
    return compileDefinition(parseCached(definition), this.slotsOf(appId), customProperties);
  }

  // ---- incremental counts (inside a device write transaction) ----

  private buildProbe(key: AppKey, appId: number, version: string): MembershipProbe {
    const audiences = this.store.db
      .prepare("SELECT name, definition, custom_properties FROM audiences WHERE owner_name = ? AND app_name = ? ORDER BY name")
      .all(key.owner, key.app) as unknown as { name: string; definition: string; custom_properties: string }[];
    if (audiences.length === 0) return { version, audiences: [], statement: undefined, params: [] };
    const slots = this.slotsOf(appId);
    const params: (string | number)[] = [];
    const columns = audiences.map((audience, i) => {
      const condition = compileDefinition(parseCached(audience.definition), slots, JSON.parse(audience.custom_properties) as CustomProperties);
      params.push(...condition.params);
      return `coalesce((${condition.sql}), 0) AS m${i}`;
    });
    const statement = this.store.db.prepare(
      `SELECT device_id, ${columns.join(", ")} FROM device_attributes WHERE app_id = ? AND device_id IN (SELECT value FROM json_each(?))`,
    );
    return { version, audiences: audiences.map((a) => a.name), statement, params };
  }

  /** Starts tracking one write transaction's device changes (call inside the transaction). */
  track(key: AppKey, appId: number): DeviceChangeBatch {
    // The probe is this process's cache: another process may have changed the audiences or added
    // custom properties, so its key is read from the store each time (two indexed lookups).
    const versionOf = () => {
      const { audiences_version: audiences } = this.store.db.prepare("SELECT audiences_version FROM apps WHERE id = ?").get(appId) as { audiences_version: number };
      const { n: slots } = this.store.db.prepare("SELECT count(*) AS n FROM custom_property_slots WHERE app_id = ?").get(appId) as { n: number };
      return `${audiences}:${slots}`;
    };
    const current = () => {
      const version = versionOf();
      let probe = this.probes.get(appId);
      if (probe?.version !== version) this.probes.set(appId, (probe = this.buildProbe(key, appId, version)));
      return probe;
    };
    return new DeviceChangeBatch(this.store, key, appId, current(), current);
  }

  // ---- full counts (off the event loop) ----

  /** Counts a definition over the app's devices on a worker thread (definition/test, recounts). */
  async count(key: AppKey, definition: string, customProperties: CustomProperties, signal?: AbortSignal): Promise<AudienceCounts> {
    const appId = this.store.appId(key);
    const condition = this.condition(appId, definition, customProperties);
    const [estimated, total] = (await this.workers.run(
      [
        { sql: `SELECT count(*) AS n FROM device_attributes WHERE app_id = ? AND ${condition.sql}`, params: [appId, ...condition.params] },
        { sql: "SELECT device_count AS n FROM apps WHERE id = ?", params: [appId] },
      ],
      signal,
    )) as [{ n: number }, { n: number }];
    return { estimated: estimated.n, total: total.n };
  }

  /** Install ids of the devices an audience selects, at most `limit` (on a worker thread). */
  async members(key: AppKey, definition: string, customProperties: CustomProperties, limit: number): Promise<{ id: number; installId: string }[]> {
    const appId = this.store.appId(key);
    const condition = this.condition(appId, definition, customProperties);
    const [rows] = await this.workers.run([
      {
        sql: `SELECT d.id, d.install_id AS installId FROM device_attributes a JOIN devices d ON d.id = a.device_id
              WHERE a.app_id = ? AND ${condition.sql} ORDER BY a.device_id LIMIT ?`,
        params: [appId, ...condition.params, limit],
        all: true,
      },
    ]);
    return rows as { id: number; installId: string }[];
  }

  /** The distinct external (user) ids among an audience's members, in ordered pages. */
  *memberUserIds(key: AppKey, definition: string, customProperties: CustomProperties, pageSize = 10_000): Generator<string[]> {
    const appId = this.store.appId(key);
    const condition = this.condition(appId, definition, customProperties);
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

  /** Queues a full count of one audience (its definition is new or changed); joins the caller's transaction. */
  schedule(key: AppKey, name: string): void {
    const appId = this.store.appId(key);
    this.runner.enqueue(RECOUNT, `${appId}/${name}`, { appId, payload: { appId, owner: key.owner, app: key.app, name } satisfies RecountPayload });
  }

  /** Queues a count for every audience still waiting for one (a store from before counts were items). */
  resumePending(): void {
    const pending = this.store.db.prepare("SELECT owner_name AS owner, app_name AS app, name FROM audiences WHERE state = 'Calculating'").all() as unknown as (AppKey & { name: string })[];
    this.store.transaction(() => {
      for (const audience of pending) {
        if (!this.runner.item(RECOUNT, `${this.store.appId(audience)}/${audience.name}`)) this.schedule(audience, audience.name);
      }
    });
  }

  private async recount({ owner, app, name, appId }: RecountPayload, signal: AbortSignal): Promise<void> {
    const key = { owner, app };
    const audience = this.store.getAudience(key, name);
    // Gone, or already counted (a repeated item): nothing to do.
    if (!audience || audience.counted) return;
    for (;;) {
      const slots = this.slotsOf(appId);
      const condition = compileDefinition(parseCached(audience.definition), slots, audience.customProperties);
      const [seq, counted, slotCount] = (await this.workers.run(
        [
          { sql: "SELECT device_seq AS seq FROM apps WHERE id = ?", params: [appId] },
          { sql: `SELECT count(*) AS n FROM device_attributes WHERE app_id = ? AND ${condition.sql}`, params: [appId, ...condition.params] },
          { sql: "SELECT count(*) AS n FROM custom_property_slots WHERE app_id = ?", params: [appId] },
        ],
        signal,
      )) as [{ seq: number }, { n: number }, { n: number }];
      // A custom property first seen between compiling and the snapshot may be one the definition
      // names (compiled as "matches nothing"): compile again against the snapshot's properties.
      if (slotCount.n !== slots.size) continue;
      this.store.finishRecount(key, appId, audience, { estimated: counted.n, atSeq: seq.seq });
      return;
    }
  }
}
