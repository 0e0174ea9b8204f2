// Notifications: targets resolved and limits enforced when a send is accepted; delivery is an item of
// the background runner, done with a pluggable sender by whichever process holds its lease, so a
// crash mid-send resumes where it stopped (each device's outcome is recorded once). States: Queued →
// Sending → Completed | Failed, or NoTargetFound when nothing matched.
import { randomUUID } from "node:crypto";
import {
  LIMITS,
  PUSH_CONFIG_CHANNEL,
  type NotificationContent,
  type NotificationDefinition,
  type NotificationState,
  type NotificationTarget,
  type PushConfig,
} from "../domain/index.ts";
import type { AudienceCounter } from "./audience-counts.ts";
import { ApiError } from "./errors.ts";
import type { PushConfigStore } from "./push-config.ts";
import type { Runner } from "./runner.ts";
import type { AppKey, Store } from "./store.ts";

export interface Delivery {
  readonly installId: string;
  readonly channel: string | null;
  readonly token: string | null;
}

/** Delivers one notification to one device; answers a failure reason instead of throwing. */
export interface PushSender {
  send(delivery: Delivery, content: NotificationContent, credentials: PushConfig | undefined): Promise<{ ok: true } | { ok: false; reason: string }>;
}

/** The built-in sender: checks what a real push service would need, and records the outcome. */
export const localSender: PushSender = {
  async send(delivery, _content, credentials) {
    if (!delivery.token || !delivery.channel) return { ok: false, reason: "NoPushToken" };
    if (!credentials || PUSH_CONFIG_CHANNEL[credentials.type] !== delivery.channel) return { ok: false, reason: "MissingCredentials" };
    return { ok: true };
  },
};

export interface NotificationOverview {
  notification_id: string;
  name: string;
  notification_target: NotificationTarget | null;
  send_time: string;
  pns_send_success: number;
  pns_send_failure: number;
  state: NotificationState;
}

interface NotificationRow {
  id: string;
  app_id: number;
  name: string;
  content: string;
  target: string | null;
  state: NotificationState;
  send_time: number;
  pns_send_success: number;
  pns_send_failure: number;
}

const overview = (row: NotificationRow): NotificationOverview => ({
  notification_id: row.id,
  name: row.name,
  notification_target: row.target ? (JSON.parse(row.target) as NotificationTarget) : null,
  send_time: new Date(row.send_time).toISOString(),
  pns_send_success: row.pns_send_success,
  pns_send_failure: row.pns_send_failure,
  state: row.state,
});

const ORDER_COLUMNS = { send_time: "send_time", name: "name", count: "(pns_send_success + pns_send_failure)" } as const;
export type NotificationOrder = { column: keyof typeof ORDER_COLUMNS; descending: boolean };

export function parseOrderBy(text: string | undefined): NotificationOrder {
  const [column = "count", direction = "desc", ...rest] = (text ?? "count desc").trim().split(/\s+/);
  if (!(column in ORDER_COLUMNS) || !["asc", "desc"].includes(direction) || rest.length > 0) {
    throw new ApiError("BadRequest", `$orderby must be one of ${Object.keys(ORDER_COLUMNS).join(", ")} followed by asc or desc, got '${text}'`);
  }
  return { column: column as NotificationOrder["column"], descending: direction === "desc" };
}

const DELIVER = "notification.deliver";
/** Deliveries recorded per page: a crash loses at most the device being sent to, never a page. */
const DELIVERY_PAGE = 500;

export class NotificationService {
  constructor(
    private readonly store: Store,
    private readonly counter: AudienceCounter,
    private readonly configs: PushConfigStore,
    private readonly runner: Runner,
    private readonly sender: PushSender = localSender,
  ) {
    runner.register<{ id: string }>(DELIVER, {
      run: ({ id }, context) => this.deliver(id, context.signal),
      // A sender that keeps throwing: the notification ends Failed with the reason, the service goes on.
      dead: ({ id }, reason) => this.finish(id, `delivery stopped: ${reason}`),
      maxAttempts: 5,
    });
  }

  /** Resolves the target to device ids, at most the platform's 1,000 (seeds: Using the Push API). */
  private async resolveTargets(key: AppKey, appId: number, target: NotificationTarget | null | undefined): Promise<{ id: number; installId: string }[]> {
    const limit = LIMITS.notificationTargetDevices.value;
    const tooMany = (what: string, count: number) =>
      new ApiError(
        "BadRequest",
        `notification_target: ${what} ${count > limit ? `more than ${limit}` : count} devices; any API notification targets at most ${limit} devices (${LIMITS.notificationTargetDevices.source})`,
      );
    const db = this.store.db;
    const byDevice = new Map<number, string>();
    const add = (rows: { id: number; installId: string }[]) => rows.forEach((r) => byDevice.set(r.id, r.installId));
    if (!target) {
      add(db.prepare("SELECT id, install_id AS installId FROM devices WHERE app_id = ? ORDER BY id LIMIT ?").all(appId, limit + 1) as unknown as { id: number; installId: string }[]);
      if (byDevice.size > limit) throw tooMany("a broadcast reaches", byDevice.size);
    } else if (target.type === "audiences_target") {
      for (const [index, name] of target.audiences.entries()) {
        const audience = this.store.getAudience(key, name);
        if (!audience) throw new ApiError("BadRequest", `notification_target.audiences[${index}]: audience '${name}' not found in app '${key.owner}/${key.app}'`);
        if (!audience.enabled) throw new ApiError("BadRequest", `notification_target.audiences[${index}]: audience '${name}' is disabled`);
        // Off the event loop: a selective audience may scan every device of the app.
        const members = await this.counter.members(key, audience.definition, audience.customProperties, limit + 1);
        // The 1,000-devices-per-audience limit applies here, when sending (as App Center did).
        if (members.length > limit) throw tooMany(`audience '${name}' has`, members.length);
        add(members);
      }
      if (byDevice.size > limit) throw tooMany("the audiences together have", byDevice.size);
    } else {
      const select =
        target.type === "devices_target"
          ? { sql: "install_id", values: target.devices }
          : { sql: "user_id", values: target.type === "user_ids_target" ? target.user_ids : target.account_ids };
      const rows = db
        .prepare(`SELECT id, install_id AS installId FROM devices WHERE app_id = ? AND ${select.sql} IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?`)
        .all(appId, JSON.stringify(select.values), limit + 1) as unknown as { id: number; installId: string }[];
      add(rows);
      if (byDevice.size > limit) throw tooMany("the listed users have", byDevice.size);
    }
    return [...byDevice].map(([id, installId]) => ({ id, installId }));
  }

  /** Accepts a send: resolves targets, stores the notification with its deliveries and queues its delivery. */
  async send(key: AppKey, definition: NotificationDefinition): Promise<{ id: string; state: NotificationState }> {
    const id = randomUUID();
    const appId = this.store.appId(key);
    const targets = await this.resolveTargets(key, appId, definition.notification_target);
    const state = this.store.transaction(() => {
      const state: NotificationState = targets.length === 0 ? "NoTargetFound" : "Queued";
      this.store.db
        .prepare("INSERT INTO notifications (id, app_id, name, content, target, state, send_time) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(id, appId, definition.notification_content.name, JSON.stringify(definition.notification_content), definition.notification_target ? JSON.stringify(definition.notification_target) : null, state, Date.now());
      const insert = this.store.db.prepare("INSERT INTO notification_deliveries (notification_id, device_id, install_id) VALUES (?, ?, ?)");
      for (const target of targets) insert.run(id, target.id, target.installId);
      // Queued with the notification itself: accepted means it will be delivered, whatever crashes next.
      if (targets.length > 0) this.runner.enqueue(DELIVER, id, { appId, payload: { id } });
      return state;
    });
    return { id, state };
  }

  /** Queues notifications a store from before the runner still has in its outbox. */
  resumeLegacyOutbox(): void {
    this.store.transaction(() => {
      const waiting = this.store.db.prepare("DELETE FROM notification_outbox RETURNING notification_id AS id, app_id AS appId").all() as unknown as { id: string; appId: number }[];
      for (const { id, appId } of waiting) this.runner.enqueue(DELIVER, id, { appId, payload: { id } });
    });
  }

  /**
   * Delivers what is left of one notification: only the process holding the item's lease gets here,
   * and each device's outcome is recorded as it is known, so a resumed delivery skips every device
   * already done.
   */
  private async deliver(id: string, signal: AbortSignal): Promise<void> {
    const db = this.store.db;
    const row = db.prepare("SELECT * FROM notifications WHERE id = ?").get(id) as NotificationRow | undefined;
    if (!row) return;
    db.prepare("UPDATE notifications SET state = 'Sending' WHERE id = ? AND state IN ('Queued', 'Sending')").run(id);
    const app = db.prepare("SELECT owner_name AS owner, app_name AS app FROM apps WHERE id = ?").get(row.app_id) as unknown as AppKey;
    const credentials = this.configs.credentials(app);
    const content = JSON.parse(row.content) as NotificationContent;
    const pendingPage = db.prepare(
      `SELECT nd.device_id AS deviceId, nd.install_id AS installId, d.push_channel AS channel, d.push_token AS token
       FROM notification_deliveries nd LEFT JOIN devices d ON d.id = nd.device_id
       WHERE nd.notification_id = ? AND nd.outcome IS NULL ORDER BY nd.device_id LIMIT ?`,
    );
    const record = db.prepare("UPDATE notification_deliveries SET outcome = ? WHERE notification_id = ? AND device_id = ? AND outcome IS NULL");
    for (;;) {
      const pending = pendingPage.all(id, DELIVERY_PAGE) as unknown as (Delivery & { deviceId: number })[];
      if (pending.length === 0) break;
      for (const delivery of pending) {
        // Stop before the next device once the lease is gone: whoever holds it now carries on.
        signal.throwIfAborted();
        const result = await this.sender.send(delivery, content, credentials);
        record.run(result.ok ? "Success" : result.reason, id, delivery.deviceId);
      }
    }
    this.finish(id);
  }

  /** Settles a notification's state and counts from its recorded outcomes. */
  private finish(id: string, failure?: string): void {
    const db = this.store.db;
    this.store.transaction(() => {
      if (failure) db.prepare("UPDATE notification_deliveries SET outcome = 'DeliveryFailed' WHERE notification_id = ? AND outcome IS NULL").run(id);
      const counts = db
        .prepare("SELECT sum(outcome = 'Success') AS success, sum(outcome != 'Success') AS failure FROM notification_deliveries WHERE notification_id = ?")
        .get(id) as { success: number | null; failure: number | null };
      const success = counts.success ?? 0;
      db.prepare("UPDATE notifications SET state = ?, pns_send_success = ?, pns_send_failure = ? WHERE id = ?").run(success > 0 ? "Completed" : "Failed", success, counts.failure ?? 0, id);
    });
  }

  get(key: AppKey, id: string) {
    const row = this.store.db.prepare("SELECT * FROM notifications WHERE id = ? AND app_id = ?").get(id, this.store.appId(key)) as NotificationRow | undefined;
    if (!row) return undefined;
    const outcomes = this.store.db
      .prepare(
        `SELECT outcome AS failure_reason, count(*) AS count FROM notification_deliveries
         WHERE notification_id = ? AND outcome IS NOT NULL AND outcome != 'Success' GROUP BY outcome ORDER BY count DESC`,
      )
      .all(id) as unknown as { failure_reason: string; count: number }[];
    return { ...overview(row), notification_content: JSON.parse(row.content) as NotificationContent, failure_outcomes: outcomes };
  }

  /**
   * One page, keyset-paginated on (order column, id): a page never repeats or skips a notification
   * because others were sent meanwhile. `top` 0 means all (swagger: TopParameter).
   */
  list(key: AppKey, options: { top: number; order: NotificationOrder; after?: [string | number, string]; includeArchived: boolean }) {
    const column = ORDER_COLUMNS[options.order.column];
    const direction = options.order.descending ? "DESC" : "ASC";
    const comparison = options.order.descending ? "<" : ">";
    const params: (string | number)[] = [this.store.appId(key)];
    let where = "app_id = ?";
    if (!options.includeArchived) where += " AND archived = 0";
    if (options.after) {
      where += ` AND (${column}, id) ${comparison} (?, ?)`;
      params.push(...options.after);
    }
    const limit = options.top === 0 ? -1 : options.top + 1;
    const rows = this.store.db
      .prepare(`SELECT *, ${column} AS order_key FROM notifications WHERE ${where} ORDER BY ${column} ${direction}, id ${direction} LIMIT ?`)
      .all(...params, limit) as unknown as (NotificationRow & { order_key: string | number })[];
    const page = options.top === 0 ? rows : rows.slice(0, options.top);
    const last = page.at(-1);
    return {
      values: page.map(overview),
      next: options.top !== 0 && rows.length > options.top && last ? ([last.order_key, last.id] as [string | number, string]) : undefined,
    };
  }

  total(key: AppKey, includeArchived: boolean): number {
    return (this.store.db.prepare(`SELECT count(*) AS n FROM notifications WHERE app_id = ? ${includeArchived ? "" : "AND archived = 0"}`).get(this.store.appId(key)) as { n: number }).n;
  }

  /** swagger Push_Delete: the notifications leave the list (they stay visible with include_archived). */
  archive(key: AppKey, ids: readonly string[]): number {
    const appId = this.store.appId(key);
    return Number(this.store.db.prepare("UPDATE notifications SET archived = 1 WHERE app_id = ? AND id IN (SELECT value FROM json_each(?))").run(appId, JSON.stringify(ids)).changes);
  }
}
