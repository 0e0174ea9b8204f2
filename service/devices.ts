// Device storage: device properties in typed columns, custom properties in typed slot columns
// assigned per app on first sight (so audience counts are plain column comparisons in SQL).
import {
  customValueType,
  LIMITS,
  type CustomPropertyValue,
  type DeviceInput,
  type DevicePropertyName,
  type EventInput,
  type PropertyType,
} from "../domain/index.ts";
import { ApiError } from "./errors.ts";
import { SLOT_PREFIX, type AppKey, type Store } from "./store.ts";

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

export const slotColumn = (type: PropertyType, slot: number): string => `${SLOT_PREFIX[type]}${slot}`;

/** A custom property value as its column stores it. */
export function columnValue(value: CustomPropertyValue): string | number {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "object") return Date.parse(value.date_time);
  return value;
}

export class DeviceStore {
  private readonly slotCache = new Map<number, Map<string, Slot>>();

  constructor(private readonly store: Store) {}

  /** The app's custom property name → typed column. */
  slots(appId: number): Map<string, Slot> {
    let slots = this.slotCache.get(appId);
    if (!slots) {
      const rows = this.store.db.prepare("SELECT name, type, slot FROM custom_property_slots WHERE app_id = ?").all(appId) as unknown as {
        name: string;
        type: PropertyType;
        slot: number;
      }[];
      slots = new Map(rows.map((r) => [r.name, { type: r.type, column: slotColumn(r.type, r.slot) }]));
      this.slotCache.set(appId, slots);
    }
    return slots;
  }

  /** The column for a custom property, assigning a slot on first sight; a type change is rejected. */
  private slotFor(appId: number, name: string, type: PropertyType, field: string): Slot {
    const slots = this.slots(appId);
    const existing = slots.get(name);
    if (existing) {
      if (existing.type !== type) throw new ApiError("BadRequest", `${field}: '${name}' is a ${existing.type} custom property in this app, got a ${type}`);
      return existing;
    }
    const used = [...slots.values()].filter((s) => s.type === type).length;
    if (used >= LIMITS.customPropertiesPerType.value) {
      throw new ApiError(
        "BadRequest",
        `${field}: cannot add '${name}': this app already has ${used} ${type} custom properties, the limit is ${LIMITS.customPropertiesPerType.value} (${LIMITS.customPropertiesPerType.source})`,
      );
    }
    this.store.db.prepare("INSERT INTO custom_property_slots (app_id, name, type, slot) VALUES (?, ?, ?, ?)").run(appId, name, type, used + 1);
    const slot = { type, column: slotColumn(type, used + 1) };
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
    try {
      return this.store.transaction(() => {
        const appId = this.store.appId(key);
        devices.forEach((device, index) => {
          const columns: string[] = ["user_id"];
          const values: (string | number | null)[] = [device.user_id ?? null];
          for (const [property, value] of Object.entries(device.properties) as [DevicePropertyName, string | number][]) {
            columns.push(DEVICE_COLUMNS[property]);
            values.push(value);
          }
          for (const [name, value] of Object.entries(device.custom_properties)) {
            const field = `${fieldOf(index)}.custom_properties.${name}`;
            if (value === null) {
              const slot = this.slots(appId).get(name);
              if (slot) {
                columns.push(slot.column);
                values.push(null);
              }
              continue;
            }
            columns.push(this.slotFor(appId, name, customValueType(value), field).column);
            values.push(columnValue(value));
          }
          if (device.push) {
            columns.push("push_channel", "push_token");
            values.push(device.push.channel, device.push.token);
          }
          // user_id is only overwritten when given.
          const updates = columns.map((c) => (c === "user_id" ? "user_id = coalesce(excluded.user_id, user_id)" : `${c} = excluded.${c}`));
          const sql =
            `INSERT INTO devices (app_id, install_id, updated_at, ${columns.join(", ")}) VALUES (?, ?, ?, ${columns.map(() => "?").join(", ")}) ` +
            `ON CONFLICT (app_id, install_id) DO UPDATE SET updated_at = excluded.updated_at, ${updates.join(", ")}`;
          let statement = statements.get(sql);
          if (!statement) statements.set(sql, (statement = this.store.db.prepare(sql)));
          statement.run(appId, device.install_id, now, ...values);
        });
        return devices.length;
      });
    } catch (error) {
      // Slots assigned inside a rolled-back transaction do not exist: forget the cached ones.
      this.slotCache.clear();
      throw error;
    }
  }

  delete(key: AppKey, installId: string): boolean {
    const appId = this.store.appId(key);
    return Number(this.store.db.prepare("DELETE FROM devices WHERE app_id = ? AND install_id = ?").run(appId, installId).changes) > 0;
  }

  /** Distinct values of a device property (at most 100), optionally containing a substring. */
  propertyValues(key: AppKey, property: DevicePropertyName, contains?: string): string[] {
    const column = DEVICE_COLUMNS[property];
    const rows = this.store.db
      .prepare(
        `SELECT DISTINCT ${column} AS value FROM devices WHERE app_id = ? AND ${column} IS NOT NULL
         ${contains ? `AND instr(lower(${column}), lower(?)) > 0` : ""} ORDER BY value LIMIT 100`,
      )
      .all(...([this.store.appId(key), ...(contains ? [contains] : [])] as [number, ...string[]])) as unknown as { value: string | number }[];
    return rows.map((r) => String(r.value));
  }

  countDevices(key: AppKey): number {
    return (this.store.db.prepare("SELECT count(*) AS n FROM devices WHERE app_id = ?").get(this.store.appId(key)) as { n: number }).n;
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
