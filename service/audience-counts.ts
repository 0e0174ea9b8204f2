// Audience sizes, kept exact without recounting on every device change. A device write copies its
// changed devices' rows before and after; a background item evaluates the app's audiences on those
// copies on a worker thread and moves each count by members gained minus lost (work proportional to
// the changes, never on the writer's path). A new or changed definition needs a full count: a
// background item on a worker thread, from a snapshot at a known device-change sequence number,
// which it records (`applied_seq`) so the moves after it are applied once it lands: the result is
// exact. States: `Calculating` → `Ready` (swagger: AudienceProcessingState).
import { setImmediate as nextTurn } from "node:timers/promises";
import { parseDefinition, type CustomProperties, type Expression } from "../domain/index.ts";
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
/** Change images deleted per event-loop turn: about 5 ms each. */
const IMAGES_DROPPED_PER_TURN = 5_000;

export class AudienceCounter {
  constructor(
    private readonly store: Store,
    private readonly repositories: Repositories,
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

  /** Queues a full count of one audience (its definition is new or changed); joins the caller's transaction. */
  schedule(key: AppKey, name: string): void {
    const appId = this.repositories.apps.id(key);
    this.runner.enqueue(RECOUNT, `${appId}/${name}`, { appId, payload: { appId, owner: key.owner, app: key.app, name } satisfies RecountPayload });
  }

  /** Queues a count for every audience still waiting for one (a store from before counts were items). */
  resumePending(): void {
    const pending = this.repositories.audiences.awaitingCount();
    this.store.transaction(() => {
      for (const audience of pending) {
        if (!this.runner.item(RECOUNT, `${this.repositories.apps.id(audience)}/${audience.name}`)) this.schedule(audience, audience.name);
      }
    });
  }

  private async recount({ owner, app, name, appId }: RecountPayload, signal: AbortSignal): Promise<void> {
    const key = { owner, app };
    const { apps, audiences, deviceReads } = this.repositories;
    const audience = audiences.get(key, name);
    // Gone, or already counted (a repeated item): nothing to do.
    if (!audience || audience.counted) return;
    for (;;) {
      const slots = this.slotsOf(appId);
      const condition = compileDefinition(parseCached(audience.definition), slots, audience.customProperties);
      const [seq, counted, slotCount] = await this.workers.run(
        [apps.lastDeviceChangeQuery(appId), deviceReads.matchingCountQuery(appId, condition), deviceReads.slotCountQuery(appId)],
        signal,
      );
      // A custom property first seen between compiling and the snapshot may be one the definition
      // names (compiled as "matches nothing"): compile again against the snapshot's properties.
      if (slotCount.n !== slots.size) continue;
      // The changes after its snapshot are the next moves item's.
      if (audiences.finishRecount(key, audience, { estimated: counted.n, atSeq: seq.seq })) {
        this.runner.enqueue(MOVES, String(appId), { appId, payload: { appId, owner: key.owner, app: key.app } });
      }
      return;
    }
  }
}
