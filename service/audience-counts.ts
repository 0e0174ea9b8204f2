// Audience sizes, kept exact without recounting on every device change. A device write copies its
// changed devices' rows before and after; a background item evaluates the app's audiences on those
// copies on a worker thread and moves each count by members gained minus lost (work proportional to
// the changes, never on the writer's path). A new or changed definition needs a full count: a
// background item on a worker thread, from a snapshot at a known device-change sequence number,
// which it records (`applied_seq`) so the moves after it are applied once it lands: the result is
// exact. States: `Calculating` → `Ready` (swagger: AudienceProcessingState).
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

/**
 * One write transaction's device changes: the changed devices' attribute rows are copied before and
 * after the writes (cheap, proportional to the batch), the app's change sequence number and device
 * count move, and a count-moves item is queued. Evaluating audiences on the copies is that item's
 * work, on a worker thread — never the writer's.
 */
export class DeviceChangeBatch {
  private readonly seq: number;
  private devicesDelta = 0;

  constructor(
    private readonly store: Store,
    private readonly appId: number,
    private readonly queueMoves: (appId: number) => void,
  ) {
    // The transaction holds the write lock: the next sequence number is this one's.
    this.seq = (store.db.prepare("SELECT device_seq FROM apps WHERE id = ?").get(appId) as { device_seq: number }).device_seq + 1;
  }

  /** Copies the devices' attribute rows as they are now, as the batch's 'b'efore or 'a'fter images. */
  capture(phase: "b" | "a", deviceIds: readonly number[]): void {
    if (deviceIds.length === 0) return;
    const copied = this.store.db
      .prepare(
        `INSERT INTO device_change_images SELECT ?, ?, * FROM device_attributes
         WHERE app_id = ? AND device_id IN (SELECT value FROM json_each(?))`,
      )
      .run(this.seq, phase, this.appId, JSON.stringify(deviceIds));
    this.devicesDelta += (phase === "a" ? 1 : -1) * Number(copied.changes);
  }

  finish(): void {
    this.store.db.prepare("UPDATE apps SET device_seq = ?, device_count = device_count + ? WHERE id = ?").run(this.seq, this.devicesDelta, this.appId);
    this.queueMoves(this.appId);
  }
}

const MOVES = "audience.moves";

export class AudienceCounter {
  constructor(
    private readonly store: Store,
    private readonly slotsOf: (appId: number) => Map<string, Slot>,
    private readonly workers: SqlWorkers,
    private readonly runner: Runner,
  ) {
    runner.register<{ appId: number; owner: string; app: string }>(MOVES, {
      run: (payload, context) => this.applyMoves(payload, context.signal),
      maxAttempts: 10,
    });
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

  // ---- incremental counts ----

  /** Starts recording one write transaction's device changes (call inside the transaction). */
  track(key: AppKey, appId: number): DeviceChangeBatch {
    return new DeviceChangeBatch(this.store, appId, () => this.runner.enqueue(MOVES, String(appId), { appId, payload: { appId, owner: key.owner, app: key.app } }));
  }

  /**
   * Moves each counted audience by its members gained minus lost among the device changes after its
   * `applied_seq`, up to the newest change (one snapshot, on a worker thread), then drops the
   * images every audience has taken in. An audience being recounted waits: its count will include
   * the changes up to its snapshot, and the moves after it are applied once it lands.
   */
  private async applyMoves({ appId, owner, app }: { appId: number; owner: string; app: string }, signal: AbortSignal): Promise<void> {
    const key = { owner, app };
    const audiences = this.store.db
      .prepare("SELECT name, definition, custom_properties, applied_seq FROM audiences WHERE owner_name = ? AND app_name = ? AND state = 'Ready' ORDER BY name")
      .all(owner, app) as unknown as { name: string; definition: string; custom_properties: string; applied_seq: number }[];
    const slots = this.slotsOf(appId);
    const statements = audiences.map((audience) => {
      const condition = compileDefinition(parseCached(audience.definition), slots, JSON.parse(audience.custom_properties) as CustomProperties);
      return {
        sql: `SELECT coalesce(sum(CASE phase WHEN 'a' THEN 1 ELSE -1 END), 0) AS moved FROM device_change_images
              WHERE app_id = ? AND seq > ? AND seq <= ? AND coalesce((${condition.sql}), 0)`,
        params: [appId, audience.applied_seq, 0, ...condition.params] as (string | number)[],
      };
    });
    // The newest change and the property columns, from the same snapshot as the moves.
    const [head, slotCount] = (await this.workers.run(
      [
        { sql: "SELECT device_seq AS seq FROM apps WHERE id = ?", params: [appId] },
        { sql: "SELECT count(*) AS n FROM custom_property_slots WHERE app_id = ?", params: [appId] },
      ],
      signal,
    )) as [{ seq: number }, { n: number }];
    const upTo = head.seq;
    for (const statement of statements) statement.params[2] = upTo;
    const moved = (await this.workers.run(statements, signal)) as { moved: number }[];
    // A property first seen meanwhile may be one a definition names: compile again next time.
    if (slotCount.n !== slots.size) throw new Error("custom properties changed while counting; counting again");
    this.store.transaction(() => {
      const move = this.store.db.prepare(
        `UPDATE audiences SET estimated_count = estimated_count + ?, applied_seq = ?
         WHERE owner_name = ? AND app_name = ? AND name = ? AND state = 'Ready' AND applied_seq = ? AND definition = ? AND custom_properties = ?`,
      );
      audiences.forEach((audience, i) => {
        if (audience.applied_seq < upTo) move.run(moved[i]!.moved, upTo, owner, app, audience.name, audience.applied_seq, audience.definition, audience.custom_properties);
      });
      // Images every audience has taken in (a recount in flight holds back its range) go.
      const { oldest } = this.store.db
        .prepare("SELECT min(applied_seq) AS oldest FROM audiences WHERE owner_name = ? AND app_name = ?")
        .get(owner, app) as { oldest: number | null };
      this.store.db.prepare("DELETE FROM device_change_images WHERE app_id = ? AND seq <= ?").run(appId, Math.min(oldest ?? upTo, upTo));
    });
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
      // The changes after its snapshot are the next moves item's.
      if (this.store.finishRecount(key, audience, { estimated: counted.n, atSeq: seq.seq })) {
        this.runner.enqueue(MOVES, String(appId), { appId, payload: { appId, owner: key.owner, app: key.app } });
      }
      return;
    }
  }
}
