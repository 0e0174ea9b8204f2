// Device storage: device properties in typed columns, custom properties in typed slot columns
// assigned per app on first sight (so audience counts are plain column comparisons in SQL).
import { EventRollups, storedEvent } from "./repositories/event-rollups.ts";
import { setImmediate as nextTurn } from "node:timers/promises";
import {
  customValueType,
  isDeviceProperty,
  LIMITS,
  type CustomPropertyValue,
  type DeviceInput,
  type DevicePropertyName,
  type EventInput,
  type PropertyType,
} from "../domain/index.ts";
import { ApiError } from "./errors.ts";
import type { SqlWorkers } from "./sql-worker.ts";
import type { AppKey, Store } from "./store.ts";

export const DEVICE_COLUMNS: Record<DevicePropertyName, string> = {
  appVersion: "app_version",
  carrierCountry: "carrier_country",
  deviceOsVersion: "device_os_version",
  osApiLevel: "os_api_level",
  osVersion: "os_version",
  model: "model",
  locale: "locale",
  oemName: "oem_name",
  screenSize: "screen_size",
};

export interface Slot {
  readonly type: PropertyType;
  readonly column: string;
}

export const slotColumn = (slot: number): string => `c${slot}`;

/** A custom property value as its column stores it. */
export function columnValue(value: CustomPropertyValue): string | number {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "object") return Date.parse(value.date_time);
  return value;
}

/**
 * The slot a custom property already has, or undefined when it needs a new one; throws when the
 * name is a device property's, the type differs from the slot's, or the app has no slot left.
 */
function checkedSlot(slots: ReadonlyMap<string, Slot>, name: string, type: PropertyType, field: string): Slot | undefined {
  if (isDeviceProperty(name)) {
    throw new ApiError("BadRequest", `${field}: '${name}' is a device property; send it in properties, not custom_properties`);
  }
  const existing = slots.get(name);
  if (existing) {
    if (existing.type !== type) throw new ApiError("BadRequest", `${field}: '${name}' is a ${existing.type} custom property in this app, got a ${type}`);
    return existing;
  }
  if (slots.size >= LIMITS.customPropertiesPerApp.value) {
    throw new ApiError(
      "BadRequest",
      `${field}: cannot add '${name}': this app already has ${slots.size} custom properties, the limit is ${LIMITS.customPropertiesPerApp.value} (${LIMITS.customPropertiesPerApp.source})`,
    );
  }
  return undefined;
}

/** Records one transaction's device changes (audience counts follow them: audience-counts.ts). */
export interface ChangeTracker {
  /** Copies the devices' attribute rows as they are now: before ('b') or after ('a') the writes. */
  capture(phase: "b" | "a", deviceIds: readonly number[]): void;
  finish(): void;
}

/**
 * A large ingestion request is written in slices, one transaction each, sized to hold the event
 * loop about SLICE_TARGET_MS: the first slice is SLICE_FIRST items, each next one scaled by how long
 * the last took (a slice of 2,000 devices took 25 ms in an empty app and up to 330 ms in one of
 * 1 M devices; the whole 100,000-device body in one transaction, 2.3 s: bench/RESULTS.md).
 */
const SLICE_TARGET_MS = 20;
export const SLICE_FIRST: Record<IngestKind, number> = { devices: 500, events: 5_000 };
const SLICE_BOUNDS = { min: 50, max: 20_000 };
/** How long the ledger remembers a finished body, so an identical retry is answered without writing again. */
const RETRY_WINDOW_MS = 24 * 3_600_000;

type IngestKind = "devices" | "events";

export class DeviceStore {
  private readonly rollups: EventRollups;
  /**
   * `track` starts following a write transaction's changes to an app's devices; `eventsArrived`
   * (called in the transaction that wrote events) has their KPI activity recorded behind ingestion.
   */
  constructor(
    private readonly store: Store,
    private readonly track: (key: AppKey, appId: number) => ChangeTracker,
    private readonly workers: SqlWorkers,
    private readonly eventsArrived: () => void = () => {},
  ) {
    this.rollups = new EventRollups(store);
  }

  /**
   * The app's custom property name → column, read fresh: another process (a replica, the
   * generator) may have added properties since, and the lookup is one indexed query.
   */
  slots(appId: number): Map<string, Slot> {
    const rows = this.store.db.prepare("SELECT name, type, slot FROM custom_property_slots WHERE app_id = ?").all(appId) as unknown as {
      name: string;
      type: PropertyType;
      slot: number;
    }[];
    return new Map(rows.map((r) => [r.name, { type: r.type, column: slotColumn(r.slot) }]));
  }

  /** The column for a custom property, assigning a slot on first sight; a type change is rejected. */
  private slotFor(appId: number, slots: Map<string, Slot>, name: string, type: PropertyType, field: string): Slot {
    const existing = checkedSlot(slots, name, type, field);
    if (existing) return existing;
    const slot = slots.size + 1;
    this.store.db.prepare("INSERT INTO custom_property_slots (app_id, name, type, slot) VALUES (?, ?, ?, ?)").run(appId, name, type, slot);
    const assigned = { type, column: slotColumn(slot) };
    slots.set(name, assigned);
    return assigned;
  }

  /**
   * Checks a whole request's custom properties against the app's slots (types, the per-app limit)
   * before any of it is written, so a bad request writes nothing even when written in slices.
   */
  private checkCustomProperties(appId: number, devices: readonly DeviceInput[], fieldOf: (index: number) => string): void {
    const slots = this.slots(appId);
    devices.forEach((device, index) => {
      for (const [name, value] of Object.entries(device.custom_properties)) {
        if (value === null) continue;
        const type = customValueType(value);
        if (!checkedSlot(slots, name, type, `${fieldOf(index)}.custom_properties.${name}`)) slots.set(name, { type, column: slotColumn(slots.size + 1) });
      }
    });
  }

  /**
   * Ingests a request's devices: checked whole first (a bad request writes nothing), then written
   * in slices, each one transaction, the event loop free in between. A crash midway leaves whole
   * slices written; resending the same body resumes after them (`digest`, asked for only when the
   * body is larger than one slice).
   */
  async ingestDevices(key: AppKey, devices: readonly DeviceInput[], digest: () => string, fieldOf: (index: number) => string): Promise<number> {
    if (devices.length > SLICE_FIRST.devices) this.checkCustomProperties(this.store.appId(key), devices, fieldOf);
    await this.sliced(key, "devices", digest, devices, (slice, offset) => this.upsert(key, slice, (i) => fieldOf(offset + i)));
    return devices.length;
  }

  /** Ingests a request's events in slices, as ingestDevices does. */
  async ingestEvents(key: AppKey, events: readonly EventInput[], digest: () => string): Promise<number> {
    await this.sliced(key, "events", digest, events, (slice) => this.insertEvents(key, slice));
    return events.length;
  }

  /**
   * Writes `items` in slices, each recorded in the ingestion ledger (items done) in its own
   * transaction: what a previous attempt at the same body committed is skipped, a body already
   * finished within RETRY_WINDOW_MS is not written again, and two requests writing the same body at
   * once cannot both write a slice (the second is answered 409).
   */
  private async sliced<T>(key: AppKey, kind: IngestKind, digestOf: () => string, items: readonly T[], write: (slice: readonly T[], offset: number) => void): Promise<void> {
    let size = SLICE_FIRST[kind];
    // A small devices body is written at once (an upsert written twice changes nothing); events are
    // not idempotent, so every events body goes through the ledger, however small.
    if (kind === "devices" && items.length <= size) {
      write(items, 0);
      return;
    }
    const appId = this.store.appId(key);
    const now = Date.now();
    const digest = digestOf();
    let done = this.store.transaction(() => {
      this.store.db.prepare("DELETE FROM ingest_batches WHERE app_id = ? AND updated_at < ?").run(appId, now - RETRY_WINDOW_MS);
      this.store.db
        .prepare("INSERT INTO ingest_batches (app_id, kind, digest, items_done, items_total, updated_at) VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT DO NOTHING")
        .run(appId, kind, digest, items.length, now);
      const row = this.store.db.prepare("SELECT items_done FROM ingest_batches WHERE app_id = ? AND kind = ? AND digest = ?").get(appId, kind, digest) as { items_done: number };
      return row.items_done;
    });
    const advance = this.store.db.prepare("UPDATE ingest_batches SET items_done = ?, updated_at = ? WHERE app_id = ? AND kind = ? AND digest = ? AND items_done = ?");
    for (let first = true; done < items.length; first = false) {
      if (!first) await nextTurn();
      const end = Math.min(items.length, done + size);
      const started = performance.now();
      try {
        this.store.transaction(() => {
          if (Number(advance.run(end, Date.now(), appId, kind, digest, done).changes) === 0) {
            throw new ApiError("Conflict", `an identical ${kind} body is being written by another request; send it again once that one has been answered`);
          }
          write(items.slice(done, end), done);
        });
      } catch (error) {
        if (done === 0 || !(error instanceof ApiError)) throw error;
        // Say what is in: sending the same body again writes only the rest.
        throw new ApiError(error.code, `${error.message} (${done.toLocaleString("en-US")} of ${items.length.toLocaleString("en-US")} ${kind} were written before this; sending the same body again writes only the rest)`);
      }
      done = end;
      const took = Math.max(performance.now() - started, 1);
      size = Math.min(SLICE_BOUNDS.max, Math.max(SLICE_BOUNDS.min, Math.round((size * SLICE_TARGET_MS) / took)));
    }
  }

  /**
   * Inserts or updates devices in one transaction: all of them or none (for a large request, use
   * ingestDevices, which keeps the event loop free). Given properties overwrite,
   * absent ones keep their value, a null custom property clears it.
   */
  upsert(key: AppKey, devices: readonly DeviceInput[], fieldOf: (index: number) => string = (i) => `devices[${i}]`): number {
    const now = Date.now();
    const statements = new Map<string, ReturnType<Store["db"]["prepare"]>>();
    const prepared = (sql: string) => {
      let statement = statements.get(sql);
      if (!statement) statements.set(sql, (statement = this.store.db.prepare(sql)));
      return statement;
    };
    return this.store.transaction(() => {
      const appId = this.store.appId(key);
      // Read inside the write transaction, so no other writer can assign a slot meanwhile.
      const slots = this.slots(appId);
      const changes = this.track(key, appId);
      // First every device's identity row (its id) and its columns, assigning slots on first sight ...
      const writes = devices.map((device, index) => {
        // Identity and push: user_id and push are only overwritten when given.
        const identity = device.push
          ? "push_channel = excluded.push_channel, push_token = excluded.push_token, "
          : "";
        const { id } = prepared(
          `INSERT INTO devices (app_id, install_id, user_id, push_channel, push_token, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (app_id, install_id) DO UPDATE SET ${identity}user_id = coalesce(excluded.user_id, user_id), updated_at = excluded.updated_at
           RETURNING id`,
        ).get(appId, device.install_id, device.user_id ?? null, device.push?.channel ?? null, device.push?.token ?? null, now) as { id: number };

        const columns: string[] = [];
        const values: (string | number | null)[] = [];
        for (const [property, value] of Object.entries(device.properties) as [DevicePropertyName, string | number][]) {
          columns.push(DEVICE_COLUMNS[property]);
          values.push(value);
        }
        for (const [name, value] of Object.entries(device.custom_properties)) {
          if (value === null) {
            const slot = slots.get(name);
            if (slot) {
              columns.push(slot.column);
              values.push(null);
            }
            continue;
          }
          columns.push(this.slotFor(appId, slots, name, customValueType(value), `${fieldOf(index)}.custom_properties.${name}`).column);
          values.push(columnValue(value));
        }
        return { id, columns, values };
      });
      // ... then the batch's attribute rows before and after its writes, copied in two statements
      // whatever its size (a device named twice counts once, by its net change).
      const ids = [...new Set(writes.map((w) => w.id))];
      changes.capture("b", ids);
      for (const { id, columns, values } of writes) {
        const update = columns.length > 0 ? `DO UPDATE SET ${columns.map((c) => `${c} = excluded.${c}`).join(", ")}` : "DO NOTHING";
        prepared(
          `INSERT INTO device_attributes (app_id, device_id${columns.map((c) => `, ${c}`).join("")}) VALUES (?, ?${", ?".repeat(columns.length)})
           ON CONFLICT (app_id, device_id) ${update}`,
        ).run(appId, id, ...values);
      }
      changes.capture("a", ids);
      changes.finish();
      return devices.length;
    });
  }

  delete(key: AppKey, installId: string): boolean {
    return this.store.transaction(() => {
      const appId = this.store.appId(key);
      const device = this.store.db.prepare("SELECT id FROM devices WHERE app_id = ? AND install_id = ?").get(appId, installId) as { id: number } | undefined;
      return device ? this.removeDevices(key, [device.id]) > 0 : false;
    });
  }

  /**
   * Removes devices by id with their attribute rows (joining the caller's transaction); audience
   * counts move as for any device change. Answers how many were there.
   */
  removeDevices(key: AppKey, deviceIds: readonly number[]): number {
    if (deviceIds.length === 0) return 0;
    return this.store.transaction(() => {
      const appId = this.store.appId(key);
      const changes = this.track(key, appId);
      changes.capture("b", deviceIds);
      const removeAttributes = this.store.db.prepare("DELETE FROM device_attributes WHERE app_id = ? AND device_id = ?");
      const removeDevice = this.store.db.prepare("DELETE FROM devices WHERE app_id = ? AND id = ?");
      let removed = 0;
      for (const id of deviceIds) {
        removeAttributes.run(appId, id);
        removed += Number(removeDevice.run(appId, id).changes);
      }
      changes.finish();
      return removed;
    });
  }

  /** Distinct values of a device property (at most 100), optionally containing a substring; scanned on a worker thread. */
  async propertyValues(key: AppKey, property: DevicePropertyName, contains?: string): Promise<string[]> {
    const column = DEVICE_COLUMNS[property];
    const [rows] = await this.workers.run([
      {
        sql: `SELECT DISTINCT ${column} AS value FROM device_attributes WHERE app_id = ? AND ${column} IS NOT NULL
              ${contains ? `AND instr(lower(${column}), lower(?)) > 0` : ""} ORDER BY value LIMIT 100`,
        params: [this.store.appId(key), ...(contains ? [contains] : [])],
        all: true,
      },
    ]);
    return (rows as { value: string | number }[]).map((r) => String(r.value));
  }

  insertEvents(key: AppKey, events: readonly EventInput[]): number {
    return this.store.transaction(() => {
      const appId = this.store.appId(key);
      const insert = this.store.db.prepare(
        `INSERT INTO events (app_id, install_id, type, name, occurred_at, notification_id, product_id, amount, currency, properties)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      this.rollups.apply(appId, events.map(storedEvent), 1);
      this.eventsArrived();
      for (const event of events) {
        insert.run(
          appId,
          event.install_id,
          event.type,
          event.type === "custom" ? event.name : null,
          Date.parse(event.timestamp),
          event.type === "push_opened" ? event.notification_id : null,
          event.type === "purchase" ? event.product_id : null,
          event.type === "purchase" ? event.amount : null,
          event.type === "purchase" ? event.currency : null,
          event.type === "custom" ? JSON.stringify(event.properties) : null,
        );
      }
      return events.length;
    });
  }
}
