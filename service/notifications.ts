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
import type { Repositories } from "./repositories/index.ts";
import type { DeviceTarget } from "./repositories/device-reads.ts";
import { NOTIFICATION_ORDER_COLUMNS, type NotificationOrderColumn, type NotificationRow } from "./repositories/notifications.ts";
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

const overview = (row: NotificationRow): NotificationOverview => ({
  notification_id: row.id,
  name: row.name,
  notification_target: row.target ? (JSON.parse(row.target) as NotificationTarget) : null,
  send_time: new Date(row.send_time).toISOString(),
  pns_send_success: row.pns_send_success,
  pns_send_failure: row.pns_send_failure,
  state: row.state,
});

export type NotificationOrder = { column: NotificationOrderColumn; descending: boolean };

export function parseOrderBy(text: string | undefined): NotificationOrder {
  const [column = "count", direction = "desc", ...rest] = (text ?? "count desc").trim().split(/\s+/);
  if (!Object.hasOwn(NOTIFICATION_ORDER_COLUMNS, column) || !["asc", "desc"].includes(direction) || rest.length > 0) {
    throw new ApiError("BadRequest", `$orderby must be one of ${Object.keys(NOTIFICATION_ORDER_COLUMNS).join(", ")} followed by asc or desc, got '${text}'`);
  }
  return { column: column as NotificationOrder["column"], descending: direction === "desc" };
}

const DELIVER = "notification.deliver";
/** Deliveries recorded per page: a crash loses at most the device being sent to, never a page. */
const DELIVERY_PAGE = 500;

export class NotificationService {
  constructor(
    private readonly store: Store,
    private readonly repositories: Repositories,
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
  private async resolveTargets(key: AppKey, appId: number, target: NotificationTarget | null | undefined): Promise<DeviceTarget[]> {
    const limit = LIMITS.notificationTargetDevices.value;
    const tooMany = (what: string, count: number) =>
      new ApiError(
        "BadRequest",
        `notification_target: ${what} ${count > limit ? `more than ${limit}` : count} devices; any API notification targets at most ${limit} devices (${LIMITS.notificationTargetDevices.source})`,
      );
    const { audiences, deviceReads } = this.repositories;
    const byDevice = new Map<number, string>();
    const add = (rows: DeviceTarget[]) => rows.forEach((r) => byDevice.set(r.id, r.installId));
    if (!target) {
      add(deviceReads.first(appId, limit + 1));
      if (byDevice.size > limit) throw tooMany("a broadcast reaches", byDevice.size);
    } else if (target.type === "audiences_target") {
      for (const [index, name] of target.audiences.entries()) {
        const audience = audiences.get(key, name);
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
      const rows =
        target.type === "devices_target"
          ? deviceReads.withIdentities(appId, "installId", target.devices, limit + 1)
          : deviceReads.withIdentities(appId, "userId", target.type === "user_ids_target" ? target.user_ids : target.account_ids, limit + 1);
      add(rows);
      if (byDevice.size > limit) throw tooMany("the listed users have", byDevice.size);
    }
    return [...byDevice].map(([id, installId]) => ({ id, installId }));
  }

  /** Accepts a send: resolves targets, stores the notification with its deliveries and queues its delivery. */
  async send(key: AppKey, definition: NotificationDefinition): Promise<{ id: string; state: NotificationState }> {
    const id = randomUUID();
    const appId = this.repositories.apps.id(key);
    const targets = await this.resolveTargets(key, appId, definition.notification_target);
    const state = this.store.transaction(() => {
      const state: NotificationState = targets.length === 0 ? "NoTargetFound" : "Queued";
      this.repositories.notifications.insert(
        {
          id,
          app_id: appId,
          name: definition.notification_content.name,
          content: JSON.stringify(definition.notification_content),
          target: definition.notification_target ? JSON.stringify(definition.notification_target) : null,
          state,
          send_time: Date.now(),
        },
        targets,
      );
      // Queued with the notification itself: accepted means it will be delivered, whatever crashes next.
      if (targets.length > 0) this.runner.enqueue(DELIVER, id, { appId, payload: { id } });
      return state;
    });
    return { id, state };
  }

  /** Queues notifications a store from before the runner still has in its outbox. */
  resumeLegacyOutbox(): void {
    this.store.transaction(() => {
      const waiting = this.repositories.notifications.takeOutbox();
      for (const { id, appId } of waiting) this.runner.enqueue(DELIVER, id, { appId, payload: { id } });
    });
  }

  /**
   * Delivers what is left of one notification: only the process holding the item's lease gets here,
   * and each device's outcome is recorded as it is known, so a resumed delivery skips every device
   * already done.
   */
  private async deliver(id: string, signal: AbortSignal): Promise<void> {
    const { apps, notifications } = this.repositories;
    const row = notifications.find(id);
    if (!row) return;
    notifications.markSending(id);
    const credentials = this.configs.credentials(apps.key(row.app_id));
    const content = JSON.parse(row.content) as NotificationContent;
    for (;;) {
      const pending = notifications.pendingDeliveries(id, DELIVERY_PAGE);
      if (pending.length === 0) break;
      for (const delivery of pending) {
        // Stop before the next device once the lease is gone: whoever holds it now carries on.
        signal.throwIfAborted();
        const result = await this.sender.send(delivery, content, credentials);
        notifications.recordOutcome(id, delivery.deviceId, result.ok ? "Success" : result.reason, delivery.channel);
      }
    }
    this.finish(id);
  }

  /** Settles a notification's state and counts from its recorded outcomes. */
  private finish(id: string, failure?: string): void {
    const { notifications } = this.repositories;
    this.store.transaction(() => {
      if (failure) notifications.failUndelivered(id);
      const counts = notifications.outcomeCounts(id);
      notifications.settle(id, counts.success > 0 ? "Completed" : "Failed", counts);
    });
  }

  get(key: AppKey, id: string) {
    const { apps, notifications } = this.repositories;
    const row = notifications.findInApp(apps.id(key), id);
    if (!row) return undefined;
    const outcomes = notifications.failureOutcomes(id);
    return { ...overview(row), notification_content: JSON.parse(row.content) as NotificationContent, failure_outcomes: outcomes };
  }

  /**
   * One page, keyset-paginated on (order column, id): a page never repeats or skips a notification
   * because others were sent meanwhile. `top` 0 means all (swagger: TopParameter).
   */
  list(key: AppKey, options: { top: number; order: NotificationOrder; after?: [string | number, string]; includeArchived: boolean }) {
    const rows = this.repositories.notifications.page(this.repositories.apps.id(key), {
      column: options.order.column,
      descending: options.order.descending,
      after: options.after,
      includeArchived: options.includeArchived,
      // One extra row tells whether another page exists; -1 is SQLite's "no limit".
      limit: options.top === 0 ? -1 : options.top + 1,
    });
    const page = options.top === 0 ? rows : rows.slice(0, options.top);
    const last = page.at(-1);
    return {
      values: page.map(overview),
      next: options.top !== 0 && rows.length > options.top && last ? ([last.order_key, last.id] as [string | number, string]) : undefined,
    };
  }

  total(key: AppKey, includeArchived: boolean): number {
    return this.repositories.notifications.count(this.repositories.apps.id(key), includeArchived);
  }

  /** swagger Push_Delete: the notifications leave the list (they stay visible with include_archived). */
  archive(key: AppKey, ids: readonly string[]): number {
    return this.repositories.notifications.archive(this.repositories.apps.id(key), ids);
  }
}
