// Audience sizes, kept exact without recounting on every device change. A device write copies its
// changed devices' rows before and after; a background item evaluates the app's audiences on those
// copies on a worker thread and moves each count by members gained minus lost (work proportional to
// the changes, never on the writer's path). A new or changed definition needs a full count: a
// background item on a worker thread, from a snapshot at a known device-change sequence number,
// which it records (`applied_seq`) so the moves after it are applied once it lands: the result is
// exact. States: `Calculating` → `Ready` (swagger: AudienceProcessingState).
import { setImmediate as nextTurn } from "node:timers/promises";
import { AUDIENCE_ESTIMATE_SAMPLE_DEVICES as ESTIMATE_SAMPLE_DEVICES, parseDefinition, type CustomProperties, type Expression } from "../domain/index.ts";
import type { Slot } from "./devices.ts";
import { compileDefinition, type SqlCondition } from "./membership.ts";
import type { Repositories } from "./repositories/index.ts";
import type { DeviceTarget } from "./repositories/device-reads.ts";
import type { Runner } from "./runner.ts";
import type { SqlWorkers } from "./sql-worker.ts";
import type { AppKey, Store } from "./store.ts";

export interface AudienceCounts {
  estimated: number;
  total: number;
}

/** One item per app: it counts every audience of the app waiting for a count, in one pass over its devices. */
const RECOUNT = "audience.recount";
interface RecountPayload {
  appId: number;
  owner: string;
  app: string;
}
/**
 * Audiences counted per pass over the app's rows: reading a row costs about as much as evaluating a
 * few definitions on it (bench/RESULTS.md), so 200 new audiences cost 4 passes, not 200.
 */
const AUDIENCES_PER_PASS = 50;

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
    private readonly repositories: Pick<Repositories, "apps" | "deviceChanges">,
    private readonly appId: number,
    private readonly queueMoves: (appId: number) => void,
  ) {
    // The transaction holds the write lock: the next sequence number is this one's.
    this.seq = repositories.apps.lastDeviceChange(appId) + 1;
  }

  /** Copies the devices' attribute rows as they are now, as the batch's 'b'efore or 'a'fter images. */
  capture(phase: "b" | "a", deviceIds: readonly number[]): void {
    if (deviceIds.length === 0) return;
    const copied = this.repositories.deviceChanges.capture(this.appId, this.seq, phase, deviceIds);
    this.devicesDelta += (phase === "a" ? 1 : -1) * copied;
  }

  finish(): void {
    this.repositories.apps.recordDeviceChanges(this.appId, this.seq, this.devicesDelta);
    this.queueMoves(this.appId);
  }
}

const MOVES = "audience.moves";
/** The sample is read in this many id ranges spread over the app, so no one ingestion batch dominates it. */
const ESTIMATE_WINDOWS = 40;
/** Change images deleted per event-loop turn: about 5 ms each. */
const IMAGES_DROPPED_PER_TURN = 5_000;

export class AudienceCounter {
  constructor(
    private readonly store: Store,
    private readonly repositories: Repositories,
    private readonly slotsOf: (appId: number) => Map<string, Slot>,
    private readonly workers: SqlWorkers,
    private readonly runner: Runner,
    /** For estimates, which someone waits for: a thread of their own, so they never queue behind full counts. */
    private readonly interactiveWorkers: SqlWorkers = workers,
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
    return new DeviceChangeBatch(this.repositories, appId, () => this.runner.enqueue(MOVES, String(appId), { appId, payload: { appId, owner: key.owner, app: key.app } }));
  }

  /**
   * Moves each counted audience by its members gained minus lost among the device changes after its
   * `applied_seq`, up to the newest change (one snapshot, on a worker thread), then drops the
   * images every audience has taken in. An audience being recounted waits: its count will include
   * the changes up to its snapshot, and the moves after it are applied once it lands.
   */
  private async applyMoves({ appId, owner, app }: { appId: number; owner: string; app: string }, signal: AbortSignal): Promise<void> {
    const key = { owner, app };
    const { apps, audiences, deviceChanges, deviceReads } = this.repositories;
    const counted = audiences.counted(key);
    const slots = this.slotsOf(appId);
    const conditions = counted.map((audience) => compileDefinition(parseCached(audience.definition), slots, JSON.parse(audience.custom_properties) as CustomProperties));
    // The newest change and the property columns, from the same snapshot as the moves.
    const [head, slotCount] = await this.workers.run([apps.lastDeviceChangeQuery(appId), deviceReads.slotCountQuery(appId)], signal);
    const upTo = head.seq;
    const moved = await this.workers.run(
      counted.map((audience, i) => deviceChanges.movedQuery(appId, conditions[i]!, audience.applied_seq, upTo)),
      signal,
    );
    // A property first seen meanwhile may be one a definition names: compile again next time.
    if (slotCount.n !== slots.size) throw new Error("custom properties changed while counting; counting again");
    const oldest = this.store.transaction(() => {
      const behind = counted.flatMap((audience, i) => (audience.applied_seq < upTo ? [{ audience, moved: moved[i]!.moved }] : []));
      audiences.moveCounts(key, behind, upTo);
      return audiences.oldestAppliedSeq(key);
    });
    // Images every audience has taken in (a recount in flight holds back its range) go, a slice at a
    // time: no count reads them again, so they need not go in the transaction above.
    while (deviceChanges.dropThrough(appId, Math.min(oldest ?? upTo, upTo), IMAGES_DROPPED_PER_TURN)) await nextTurn();
  }

  // ---- full counts (off the event loop) ----

  /** Counts a definition over the app's devices on a worker thread (definition/test, recounts). */
  async count(key: AppKey, definition: string, customProperties: CustomProperties, signal?: AbortSignal): Promise<AudienceCounts> {
    const { apps, deviceReads } = this.repositories;
    const appId = apps.id(key);
    const condition = this.condition(appId, definition, customProperties);
    const [estimated, total] = await this.workers.run([deviceReads.matchingCountQuery(appId, condition), apps.deviceCountQuery(appId)], signal);
    return { estimated: estimated.n, total: total.n };
  }

  /**
   * A definition's size, quickly whatever the app's size: exact up to ESTIMATE_SAMPLE_DEVICES devices;
   * beyond, from that many devices read in ESTIMATE_WINDOWS id ranges spread over the app's devices
   * (seeks on the primary key), scaled to the app. `definition/test` and the answer to a PUT use it,
   * so neither a preview's impact line nor an `up` creating audiences costs a full scan per audience;
   * the audience's own count stays exact (the background count replaces the estimate).
   */
  async estimate(
    key: AppKey,
    definition: string,
    customProperties: CustomProperties,
    signal?: AbortSignal,
    sampleDevices = ESTIMATE_SAMPLE_DEVICES,
  ): Promise<AudienceCounts & { sampled: boolean }> {
    const { apps, deviceReads } = this.repositories;
    const appId = apps.id(key);
    const condition = this.condition(appId, definition, customProperties);
    const [total, range] = await this.interactiveWorkers.run([apps.deviceCountQuery(appId), deviceReads.deviceIdRangeQuery(appId)], signal);
    if (total.n > sampleDevices && range.low !== null && range.high !== null) {
      const span = range.high - range.low + 1;
      const width = Math.max(1, Math.ceil((span * sampleDevices) / total.n / ESTIMATE_WINDOWS));
      const starts = Array.from({ length: ESTIMATE_WINDOWS }, (_, i) => range.low! + Math.floor((i * span) / ESTIMATE_WINDOWS));
      const windows = await this.interactiveWorkers.run(
        starts.map((from) => deviceReads.matchingInRangeQuery(appId, condition, from, from + width)),
        signal,
      );
      const sampled = windows.reduce((sum, window) => sum + window.n, 0);
      const matched = windows.reduce((sum, window) => sum + window.matched, 0);
      if (sampled > 0) return { estimated: Math.round((matched / sampled) * total.n), total: total.n, sampled: true };
    }
    const [estimated] = await this.interactiveWorkers.run([deviceReads.matchingCountQuery(appId, condition)], signal);
    return { estimated: estimated.n, total: total.n, sampled: false };
  }

  /** Install ids of the devices an audience selects, at most `limit` (on a worker thread). */
  async members(key: AppKey, definition: string, customProperties: CustomProperties, limit: number): Promise<DeviceTarget[]> {
    const appId = this.repositories.apps.id(key);
    const condition = this.condition(appId, definition, customProperties);
    const [rows] = await this.workers.run([this.repositories.deviceReads.membersQuery(appId, condition, limit)]);
    return rows;
  }

  /** The distinct external (user) ids among an audience's members, in ordered pages. */
  *memberUserIds(key: AppKey, definition: string, customProperties: CustomProperties, pageSize = 10_000): Generator<string[]> {
    const appId = this.repositories.apps.id(key);
    yield* this.repositories.deviceReads.memberUserIds(appId, this.condition(appId, definition, customProperties), pageSize);
  }

  /** Queues a full count of the app's audiences waiting for one (new or changed definitions); joins the caller's transaction. */
  schedule(key: AppKey): void {
    const appId = this.repositories.apps.id(key);
    this.runner.enqueue(RECOUNT, String(appId), { appId, payload: { appId, owner: key.owner, app: key.app } satisfies RecountPayload });
  }

  /** Queues a count for every app with an audience still waiting for one (a store from before counts were items). */
  resumePending(): void {
    const pending = this.repositories.audiences.awaitingCount();
    this.store.transaction(() => {
      for (const audience of pending) {
        if (!this.runner.item(RECOUNT, String(this.repositories.apps.id(audience)))) this.schedule(audience);
      }
    });
  }

  /**
   * Counts every audience of the app waiting for a count, AUDIENCES_PER_PASS to a pass, all from one
   * snapshot at a known device-change sequence number. An audience changed meanwhile was queued
   * again by its PUT (the same item runs once more); its stale count is not stored.
   */
  private async recount({ owner, app, appId }: RecountPayload, signal: AbortSignal): Promise<void> {
    const key = { owner, app };
    const { apps, audiences, deviceReads } = this.repositories;
    for (;;) {
      const pending = audiences.awaitingCountIn(key);
      if (pending.length === 0) return;
      const slots = this.slotsOf(appId);
      const conditions = pending.map((audience) => compileDefinition(parseCached(audience.definition), slots, audience.customProperties));
      const passes = Array.from({ length: Math.ceil(conditions.length / AUDIENCES_PER_PASS) }, (_, i) =>
        deviceReads.matchingCountsQuery(appId, conditions.slice(i * AUDIENCES_PER_PASS, (i + 1) * AUDIENCES_PER_PASS)),
      );
      const [seq, slotCount, ...counts] = await this.workers.run([apps.lastDeviceChangeQuery(appId), deviceReads.slotCountQuery(appId), ...passes], signal);
      // A custom property first seen between compiling and the snapshot may be one a definition
      // names (compiled as "matches nothing"): compile again against the snapshot's properties.
      if (slotCount.n !== slots.size) continue;
      const counted = counts.flatMap((row) => Object.keys(row).map((column) => row[column] ?? 0));
      // The changes after the snapshot are the next moves item's.
      const landed = this.store.transaction(() =>
        pending.filter((audience, i) => audiences.finishRecount(key, audience, { estimated: counted[i]!, atSeq: seq.seq })),
      );
      if (landed.length > 0) this.runner.enqueue(MOVES, String(appId), { appId, payload: { appId, owner: key.owner, app: key.app } });
      return;
    }
  }
}
