// Broadcast-metrics report requests and their CSV, and the report's scans of notifications, events and devices.
import type { BroadcastMetricsStatus } from "../../domain/index.ts";
import type { Query } from "../sql-worker.ts";
import type { Store } from "../store.ts";

const DAY = 86_400_000;

/** A report request as the CloudKit route makes it. */
export interface BroadcastRequest {
  id: string;
  appId: number;
  tokenId: string;
  bundleId: string;
  dataset: string;
  channelId: string | null;
  startDate: string;
  endDate: string;
}

/** A request as its report is built: the bundle id is the request's, or for older requests its token's. */
export interface BroadcastReportSource {
  app_id: number;
  bundle_id: string;
  channel_id: string | null;
  start_date: string;
  end_date: string;
  status: string;
}

/** The report's days: `first` and `last` are UTC midnights, `dayStarts` every day between, both included. */
export interface ReportDays {
  appId: number;
  first: number;
  last: number;
  dayStarts: readonly number[];
  /** Channel metrics count only notifications sent to this audience. */
  channelAudience: string | undefined;
}

/** The subscribers query's column for the day at `index` in `dayStarts`. */
export const subscribersColumn = (index: number): string => `d${index}`;

export class BroadcastMetricRequests {
  constructor(private readonly store: Store) {}

  /** The newest request with the same app, dataset, range and channel made since `since` that has not failed. */
  recentRepeat(request: Pick<BroadcastRequest, "appId" | "dataset" | "startDate" | "endDate" | "channelId">, since: number): { id: string } | undefined {
    return this.store.db
      .prepare(
        `SELECT id FROM broadcast_metric_requests WHERE app_id = ? AND dataset = ? AND start_date = ? AND end_date = ? AND coalesce(channel_id, '') = ?
           AND created_at > ? AND status != 'FAILED'
         ORDER BY created_at DESC LIMIT 1`,
      )
      .get(request.appId, request.dataset, request.startDate, request.endDate, request.channelId ?? "", since) as { id: string } | undefined;
  }

  /** Records a request PROCESSING, made now. */
  insert(request: BroadcastRequest): void {
    this.store.db
      .prepare(
        "INSERT INTO broadcast_metric_requests (id, app_id, token_id, bundle_id, dataset, channel_id, start_date, end_date, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'PROCESSING', ?)",
      )
      .run(request.id, request.appId, request.tokenId, request.bundleId, request.dataset, request.channelId, request.startDate, request.endDate, Date.now());
  }

  /** A request of this app and dataset. */
  find(id: string, appId: number, dataset: string): { status: BroadcastMetricsStatus; error: string | null; created_at: number } | undefined {
    return this.store.db.prepare("SELECT status, error, created_at FROM broadcast_metric_requests WHERE id = ? AND app_id = ? AND dataset = ?").get(id, appId, dataset) as
      | { status: BroadcastMetricsStatus; error: string | null; created_at: number }
      | undefined;
  }

  csv(id: string): string | undefined {
    return (this.store.db.prepare("SELECT csv FROM broadcast_metric_requests WHERE id = ?").get(id) as { csv: string | null } | undefined)?.csv ?? undefined;
  }

  /** Every request of any app whose report is still to be built. */
  processing(): { id: string; app_id: number }[] {
    return this.store.db.prepare("SELECT id, app_id FROM broadcast_metric_requests WHERE status = 'PROCESSING'").all() as unknown as { id: string; app_id: number }[];
  }

  reportSource(id: string): BroadcastReportSource | undefined {
    return this.store.db
      .prepare(
        `SELECT r.app_id, coalesce(r.bundle_id, t.bundle_id, '') AS bundle_id, r.channel_id, r.start_date, r.end_date, r.status
         FROM broadcast_metric_requests r LEFT JOIN data_export_tokens t ON t.id = r.token_id WHERE r.id = ?`,
      )
      .get(id) as BroadcastReportSource | undefined;
  }

  /** Stores the report of a request still PROCESSING. */
  complete(id: string, csv: string): void {
    this.store.db.prepare("UPDATE broadcast_metric_requests SET status = 'SUCCESS', csv = ? WHERE id = ? AND status = 'PROCESSING'").run(csv, id);
  }

  fail(id: string, reason: string): void {
    this.store.db.prepare("UPDATE broadcast_metric_requests SET status = 'FAILED', error = ? WHERE id = ?").run(reason, id);
  }

  // ---- the report's scans (on a worker thread, from one snapshot); `day` is the index in `dayStarts` ----

  /**
   * Notifications sent and delivered, pushes opened, and subscribers at the end of each day (one
   * pass over the app's devices for every day at once). Parameters bind as floating point: the day
   * number is cast, or 2.4 would never match day 2.
   */
  reportQueries(
    days: ReportDays,
  ): [Query<{ day: number; sent: number; delivered: number | null }[]>, Query<{ day: number; opened: number }[]>, Query<Record<string, number>>] {
    const notificationFilter = days.channelAudience ? "AND n.target IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(n.target, '$.audiences') WHERE value = ?)" : "";
    const channel = days.channelAudience ? [days.channelAudience] : [];
    const range = [days.first, days.last + DAY];
    return [
      {
        sql: `SELECT CAST((n.send_time - ?) / ${DAY} AS INTEGER) AS day, count(*) AS sent, sum(nd.outcome = 'Success') AS delivered
              FROM notifications n JOIN notification_deliveries nd ON nd.notification_id = n.id
              WHERE n.app_id = ? AND n.send_time >= ? AND n.send_time < ? ${notificationFilter} GROUP BY day`,
        params: [days.first, days.appId, ...range, ...channel],
        all: true,
      },
      {
        sql: `SELECT CAST((e.occurred_at - ?) / ${DAY} AS INTEGER) AS day, count(*) AS opened FROM events e JOIN notifications n ON n.id = e.notification_id
              WHERE e.app_id = ? AND e.type = 'push_opened' AND e.occurred_at >= ? AND e.occurred_at < ? ${notificationFilter} GROUP BY day`,
        params: [days.first, days.appId, ...range, ...channel],
        all: true,
      },
      {
        sql: `SELECT ${days.dayStarts.map((_, i) => `coalesce(sum(updated_at < ?), 0) AS ${subscribersColumn(i)}`).join(", ")}
              FROM devices WHERE app_id = ? AND push_channel = 'apns' AND push_token IS NOT NULL`,
        params: [...days.dayStarts.map((day) => day + DAY), days.appId],
      },
    ];
  }
}
