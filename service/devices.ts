// Device storage: device properties in typed columns, custom properties in typed slot columns
// assigned per app on first sight (so audience counts are plain column comparisons in SQL).
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

/** Records one transaction's device changes (audience counts follow them: audience-counts.ts). */
export interface ChangeTracker {
  /** Copies the devices' attribute rows as they are now: before ('b') or after ('a') the writes. */
  capture(phase: "b" | "a", deviceIds: readonly number[]): void;
  finish(): void;
}

export class DeviceStore {
  /** `track` starts following a write transaction's changes to an app's devices. */
  constructor(
    private readonly store: Store,
    private readonly track: (key: AppKey, appId: number) => ChangeTracker,
    private readonly workers: SqlWorkers,
  ) {}

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
    if (isDeviceProperty(name)) {
      throw new ApiError("BadRequest", `${field}: '${name}' is a device property; send it in properties, not custom_properties`);
    }
    const existing = slots.get(name);
    if (existing) {
      if (existing.type !== type) throw new ApiError("BadRequest", `${field}: '${name}' is a ${existing.type} custom property in this app, got a ${type}`);
      return existing;
    }
    const used = slots.size;
    if (used >= LIMITS.customPropertiesPerApp.value) {
      throw new ApiError(
        "BadRequest",
        `${field}: cannot add '${name}': this app already has ${used} custom properties, the limit is ${LIMITS.customPropertiesPerApp.value} (${LIMITS.customPropertiesPerApp.source})`,
      );
    }
    this.store.db.prepare("INSERT INTO custom_property_slots (app_id, name, type, slot) VALUES (?, ?, ?, ?)").run(appId, name, type, used + 1);
    const slot = { type, column: slotColumn(used + 1) };
    slots.set(name, slot);
    return slot;
  }

  /**
   * Inserts or updates devices in one transaction: all of them or none. Given properties overwrite,
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
      const device = this.store.db.prepare("DELETE FROM devices WHERE app_id = ? AND install_id = ? RETURNING id").get(appId, installId) as { id: number } | undefined;
      if (!device) return false;
      const changes = this.track(key, appId);
      changes.capture("b", [device.id]);
      this.store.db.prepare("DELETE FROM device_attributes WHERE app_id = ? AND device_id = ?").run(appId, device.id);
      changes.finish();
      return true;
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
