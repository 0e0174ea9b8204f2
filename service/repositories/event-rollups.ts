// Hourly counts of the events the Braze series report — sessions (session_start), custom events by
// name, purchases by product and in all (with their revenue in USD cents), uninstalls — kept in the
// transaction that writes (or erases) the events, and the KPIs' daily counts (activity.ts), so a
// series reads at most `length` × 24 small rows instead of scanning raw events. A batch is summed in
// memory first: one upsert per (kind, name, hour) it touches.
import { HOUR_MS, usdCents, type EventInput } from "../../domain/index.ts";
import type { Store } from "../store.ts";

/** `purchase` is per product; `purchase_total` (name '') is every product's, so a revenue series of all products reads one row an hour. */
export const ROLLUP_KINDS = ["session", "custom", "purchase", "purchase_total", "uninstall", "active", "new_user", "mau_delta"] as const;
export type RollupKind = (typeof ROLLUP_KINDS)[number];

/** A change to one hour's count (and USD cents) of a kind and name. */
export interface RollupCount {
  kind: RollupKind;
  name: string;
  hour: number;
  count: number;
  cents?: number;
}

/** An event's fields the rollups and the KPI activity read, as the events table stores them. */
export interface RollupEvent {
  install_id: string;
  type: string;
  name?: string | null;
  product_id?: string | null;
  amount?: number | null;
  currency?: string | null;
  occurred_at: number;
}

/** An ingested event's fields as the events table stores them. */
export const storedEvent = (event: EventInput): RollupEvent => ({
  install_id: event.install_id,
  type: event.type,
  name: event.type === "custom" ? event.name : null,
  product_id: event.type === "purchase" ? event.product_id : null,
  amount: event.type === "purchase" ? event.amount : null,
  currency: event.type === "purchase" ? event.currency : null,
  occurred_at: Date.parse(event.timestamp),
});

/**
 * Sums of counts and cents per (kind, name, hour): nested maps rather than one map keyed by a string
 * of all three, so summing an event allocates nothing (a batch holds up to a few hundred thousand).
 */
export class RollupSums {
  private readonly byKind = new Map<RollupKind, Map<string, Map<number, { count: number; cents: number }>>>();

  add(kind: RollupKind, name: string, hour: number, count: number, cents: number): void {
    let byName = this.byKind.get(kind);
    if (!byName) this.byKind.set(kind, (byName = new Map()));
    let byHour = byName.get(name);
    if (!byHour) byName.set(name, (byHour = new Map()));
    const sum = byHour.get(hour);
    if (sum) {
      sum.count += count;
      sum.cents += cents;
    } else {
      byHour.set(hour, { count, cents });
    }
  }

  *entries(): Generator<Required<RollupCount>> {
    for (const [kind, byName] of this.byKind) {
      for (const [name, byHour] of byName) for (const [hour, sum] of byHour) yield { kind, name, hour, count: sum.count, cents: sum.cents };
    }
  }
}

export class EventRollups {
  constructor(private readonly store: Store) {}

  /** Adds (sign 1) or takes away (sign −1) these events' counts; joins the caller's transaction. */
  apply(appId: number, events: Iterable<RollupEvent>, sign: 1 | -1): void {
    const sums = new RollupSums();
    for (const event of events) {
      const hour = Math.floor(event.occurred_at / HOUR_MS);
      if (event.type === "session_start") sums.add("session", "", hour, sign, 0);
      else if (event.type === "uninstall") sums.add("uninstall", "", hour, sign, 0);
      else if (event.type === "custom" && event.name) sums.add("custom", event.name, hour, sign, 0);
      else if (event.type === "purchase" && event.product_id) {
        const cents = sign * (event.amount != null && event.currency ? usdCents(event.amount, event.currency) : 0);
        sums.add("purchase", event.product_id, hour, sign, cents);
        sums.add("purchase_total", "", hour, sign, cents);
      }
    }
    this.write(appId, sums);
  }

  /** Writes summed counts (one upsert per kind, name and hour; none for a zero sum); joins the caller's transaction. */
  write(appId: number, sums: RollupSums): void {
    const upsert = this.store.db.prepare(
      `INSERT INTO event_rollups (app_id, kind, name, hour, count, usd_cents) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (app_id, kind, name, hour) DO UPDATE SET count = count + excluded.count, usd_cents = usd_cents + excluded.usd_cents`,
    );
    for (const sum of sums.entries()) if (sum.count !== 0 || sum.cents !== 0) upsert.run(appId, sum.kind, sum.name, sum.hour, sum.count, sum.cents);
  }

  /** The running total of a kind's counts up to each hour in [fromHour, toHour) that has any (MAU's difference counts). */
  cumulative(appId: number, kind: RollupKind, toHour: number): { hour: number; count: number }[] {
    return this.store.db
      .prepare("SELECT hour, SUM(SUM(count)) OVER (ORDER BY hour) AS count FROM event_rollups WHERE app_id = ? AND kind = ? AND hour < ? GROUP BY hour ORDER BY hour")
      .all(appId, kind, toHour) as unknown as { hour: number; count: number }[];
  }

  /**
   * Count and USD cents per hour in [fromHour, toHour) for a kind (and a name, when given). Cents are
   * summed as doubles (TOTAL): an hour of many large purchases may pass 2^53 cents, which an
   * integer read cannot hand to JavaScript.
   */
  hourly(appId: number, kind: RollupKind, fromHour: number, toHour: number, name?: string): { hour: number; count: number; cents: number }[] {
    return this.store.db
      .prepare(
        `SELECT hour, SUM(count) AS count, TOTAL(usd_cents) AS cents FROM event_rollups
         WHERE app_id = ? AND kind = ? ${name === undefined ? "" : "AND name = ?"} AND hour >= ? AND hour < ? GROUP BY hour`,
      )
      .all(...[appId, kind, ...(name === undefined ? [] : [name]), fromHour, toHour]) as unknown as { hour: number; count: number; cents: number }[];
  }

  /** The names a kind was recorded under (custom events, products), alphabetically, a page at a time. */
  names(appId: number, kind: RollupKind, page: { offset: number; limit: number }): string[] {
    const rows = this.store.db
      .prepare("SELECT DISTINCT name FROM event_rollups WHERE app_id = ? AND kind = ? AND count > 0 ORDER BY name LIMIT ? OFFSET ?")
      .all(appId, kind, page.limit, page.offset) as { name: string }[];
    return rows.map((row) => row.name);
  }
}
