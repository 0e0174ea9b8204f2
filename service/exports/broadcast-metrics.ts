// The broadcast-metrics report (seeds: CloudKit broadcast-metrics export): one CSV row per day with
// subscribers, messages sent, delivered and opened, counts from 1 to 9 suppressed as -1. Shared by
// the CloudKit request/status/download routes and the broadcast_metrics_export job kind. The counts
// are three grouped scans (not three per day) on a worker thread, from one snapshot.
import { stringify } from "csv-stringify/sync";
import { randomUUID } from "node:crypto";
import { BROADCAST_METRICS_COLUMNS, LIMITS, suppress, type BroadcastMetricsStatus } from "../../domain/index.ts";
import type { Runner } from "../runner.ts";
import type { SqlWorkers } from "../sql-worker.ts";
import type { Store } from "../store.ts";

const DAY = 86_400_000;
// Parameters bind as floating point: the day number is cast, or 2.4 would never match day 2.

export interface BroadcastReportRequest {
  appId: number;
  bundleId: string;
  /** Channel metrics: base64 of the channel's audience name; absent for application metrics. */
  channelId: string | null;
  /** Calendar days (UTC), both included. */
  startDate: string;
  endDate: string;
}

/** Daily rows for the range, from notifications, deliveries and push-opened events (at most 30 rows). */
export async function broadcastMetricsCsv(workers: SqlWorkers, request: BroadcastReportRequest, signal?: AbortSignal): Promise<{ csv: string; days: number }> {
  const channelAudience = request.channelId ? Buffer.from(request.channelId, "base64").toString("utf8") : undefined;
  const notificationFilter = channelAudience ? "AND n.target IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(n.target, '$.audiences') WHERE value = ?)" : "";
  const channel = channelAudience ? [channelAudience] : [];
  const first = Date.parse(`${request.startDate}T00:00:00Z`);
  const last = Date.parse(`${request.endDate}T00:00:00Z`);
  const days: number[] = [];
  for (let day = first; day <= last; day += DAY) days.push(day);
  const range = [first, last + DAY];
  const [sent, opened, subscribers] = (await workers.run(
    [
      {
        sql: `SELECT CAST((n.send_time - ?) / ${DAY} AS INTEGER) AS day, count(*) AS sent, sum(nd.outcome = 'Success') AS delivered
              FROM notifications n JOIN notification_deliveries nd ON nd.notification_id = n.id
              WHERE n.app_id = ? AND n.send_time >= ? AND n.send_time < ? ${notificationFilter} GROUP BY day`,
        params: [first, request.appId, ...range, ...channel],
        all: true,
      },
      {
        sql: `SELECT CAST((e.occurred_at - ?) / ${DAY} AS INTEGER) AS day, count(*) AS opened FROM events e JOIN notifications n ON n.id = e.notification_id
              WHERE e.app_id = ? AND e.type = 'push_opened' AND e.occurred_at >= ? AND e.occurred_at < ? ${notificationFilter} GROUP BY day`,
        params: [first, request.appId, ...range, ...channel],
        all: true,
      },
      {
        // Subscribers at the end of each day: one pass over the app's devices for every day at once.
        sql: `SELECT ${days.map((_, i) => `coalesce(sum(updated_at < ?), 0) AS d${i}`).join(", ")}
              FROM devices WHERE app_id = ? AND push_channel = 'apns' AND push_token IS NOT NULL`,
        params: [...days.map((day) => day + DAY), request.appId],
      },
    ],
    signal,
  )) as [{ day: number; sent: number; delivered: number | null }[], { day: number; opened: number }[], Record<string, number>];
  const sentByDay = new Map(sent.map((row) => [row.day, row]));
  const openedByDay = new Map(opened.map((row) => [row.day, row.opened]));
  const rows: (string | number)[][] = [[...BROADCAST_METRICS_COLUMNS]];
  days.forEach((day, i) => {
    const s = sentByDay.get(i);
    rows.push([
      new Date(day).toISOString().slice(0, 10),
      request.bundleId,
      request.channelId ?? "",
      suppress(subscribers[`d${i}`] ?? 0),
      suppress(s?.sent ?? 0),
      suppress(s?.delivered ?? 0),
      suppress(openedByDay.get(i) ?? 0),
    ]);
  });
  return { csv: stringify(rows), days: days.length };
}

const REPORT = "broadcast.report";

/**
 * CloudKit-style report requests: each is an item of the background runner, so a report that was
 * being built when a process died is built by the next one (never left PROCESSING), and one that
 * keeps failing ends FAILED with the reason.
 */
export class BroadcastReports {
  constructor(
    private readonly store: Store,
    private readonly workers: SqlWorkers,
    private readonly runner: Runner,
  ) {
    runner.register<{ id: string }>(REPORT, {
      run: ({ id }, context) => this.build(id, context.signal),
      dead: ({ id }, reason) => this.store.db.prepare("UPDATE broadcast_metric_requests SET status = 'FAILED', error = ? WHERE id = ?").run(reason, id),
      maxAttempts: 3,
      timeoutMs: 10 * 60_000,
    });
  }

  /**
   * Records a request and queues its report, unless the same request (app, dataset, range, channel)
   * was made within 24 hours and has not failed: then that one's id (seeds: CloudKit export).
   */
  request(row: { appId: number; tokenId: string; bundleId: string; dataset: string; channelId: string | null; startDate: string; endDate: string }): string {
    return this.store.transaction(() => {
      const repeat = this.store.db
        .prepare(
          `SELECT id FROM broadcast_metric_requests WHERE app_id = ? AND dataset = ? AND start_date = ? AND end_date = ? AND coalesce(channel_id, '') = ?
             AND created_at > ? AND status != 'FAILED'
           ORDER BY created_at DESC LIMIT 1`,
        )
        .get(row.appId, row.dataset, row.startDate, row.endDate, row.channelId ?? "", Date.now() - LIMITS.broadcastMetricsRepeatHours.value * 3_600_000) as { id: string } | undefined;
      if (repeat) return repeat.id;
      const id = randomUUID();
      this.insert({ id, ...row });
      return id;
    });
  }

  /** A request of the token's app and dataset: a token never reads another dataset's reports. */
  find(id: string, appId: number, dataset: string): { status: BroadcastMetricsStatus; error: string | null; createdAt: number } | undefined {
    const row = this.store.db.prepare("SELECT status, error, created_at FROM broadcast_metric_requests WHERE id = ? AND app_id = ? AND dataset = ?").get(id, appId, dataset) as
      | { status: BroadcastMetricsStatus; error: string | null; created_at: number }
      | undefined;
    return row ? { status: row.status, error: row.error, createdAt: row.created_at } : undefined;
  }

  csv(id: string): string | undefined {
    return (this.store.db.prepare("SELECT csv FROM broadcast_metric_requests WHERE id = ?").get(id) as { csv: string | null } | undefined)?.csv ?? undefined;
  }

  private insert(row: { id: string; appId: number; tokenId: string; bundleId: string; dataset: string; channelId: string | null; startDate: string; endDate: string }): void {
    this.store.db
      .prepare(
        "INSERT INTO broadcast_metric_requests (id, app_id, token_id, bundle_id, dataset, channel_id, start_date, end_date, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'PROCESSING', ?)",
      )
      .run(row.id, row.appId, row.tokenId, row.bundleId, row.dataset, row.channelId, row.startDate, row.endDate, Date.now());
    this.runner.enqueue(REPORT, row.id, { appId: row.appId, payload: { id: row.id } });
  }

  /** Queues the reports a store from before the runner left PROCESSING. */
  resumeLegacy(): void {
    const rows = this.store.db.prepare("SELECT id, app_id FROM broadcast_metric_requests WHERE status = 'PROCESSING'").all() as unknown as { id: string; app_id: number }[];
    this.store.transaction(() => {
      for (const row of rows) if (!this.runner.item(REPORT, row.id)) this.runner.enqueue(REPORT, row.id, { appId: row.app_id, payload: { id: row.id } });
    });
  }

  private async build(id: string, signal: AbortSignal): Promise<void> {
    const row = this.store.db
      .prepare(
        `SELECT r.app_id, coalesce(r.bundle_id, t.bundle_id, '') AS bundle_id, r.channel_id, r.start_date, r.end_date, r.status
         FROM broadcast_metric_requests r LEFT JOIN data_export_tokens t ON t.id = r.token_id WHERE r.id = ?`,
      )
      .get(id) as { app_id: number; bundle_id: string; channel_id: string | null; start_date: string; end_date: string; status: string } | undefined;
    if (!row || row.status !== "PROCESSING") return;
    const { csv } = await broadcastMetricsCsv(
      this.workers,
      { appId: row.app_id, bundleId: row.bundle_id, channelId: row.channel_id, startDate: row.start_date, endDate: row.end_date },
      signal,
    );
    this.store.db.prepare("UPDATE broadcast_metric_requests SET status = 'SUCCESS', csv = ? WHERE id = ? AND status = 'PROCESSING'").run(csv, id);
  }
}
