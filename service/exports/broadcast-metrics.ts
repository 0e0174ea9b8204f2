// The broadcast-metrics report (seeds: CloudKit broadcast-metrics export): one CSV row per day with
// subscribers, messages sent, delivered and opened, counts from 1 to 9 suppressed as -1. Shared by
// the CloudKit request/status/download routes and the broadcast_metrics_export job kind. The counts
// are three grouped scans (not three per day) on a worker thread, from one snapshot.
import { stringify } from "csv-stringify/sync";
import { randomUUID } from "node:crypto";
import { BROADCAST_METRICS_COLUMNS, LIMITS, suppress, type BroadcastMetricsStatus } from "../../domain/index.ts";
import { subscribersColumn, type BroadcastMetricRequests, type BroadcastRequest } from "../repositories/broadcast-metrics.ts";
import type { Repositories } from "../repositories/index.ts";
import type { Runner } from "../runner.ts";
import type { SqlWorkers } from "../sql-worker.ts";
import type { Store } from "../store.ts";

const DAY = 86_400_000;

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
export async function broadcastMetricsCsv(
  workers: SqlWorkers,
  repository: BroadcastMetricRequests,
  request: BroadcastReportRequest,
  signal?: AbortSignal,
): Promise<{ csv: string; days: number }> {
  const channelAudience = request.channelId ? Buffer.from(request.channelId, "base64").toString("utf8") : undefined;
  const first = Date.parse(`${request.startDate}T00:00:00Z`);
  const last = Date.parse(`${request.endDate}T00:00:00Z`);
  const days: number[] = [];
  for (let day = first; day <= last; day += DAY) days.push(day);
  const [sent, opened, subscribers] = await workers.run(repository.reportQueries({ appId: request.appId, first, last, dayStarts: days, channelAudience }), signal);
  const sentByDay = new Map(sent.map((row) => [row.day, row]));
  const openedByDay = new Map(opened.map((row) => [row.day, row.opened]));
  const rows: (string | number)[][] = [[...BROADCAST_METRICS_COLUMNS]];
  days.forEach((day, i) => {
    const s = sentByDay.get(i);
    rows.push([
      new Date(day).toISOString().slice(0, 10),
      request.bundleId,
      request.channelId ?? "",
      suppress(subscribers[subscribersColumn(i)] ?? 0),
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
    private readonly repositories: Pick<Repositories, "broadcastMetrics">,
    private readonly workers: SqlWorkers,
    private readonly runner: Runner,
  ) {
    runner.register<{ id: string }>(REPORT, {
      run: ({ id }, context) => this.build(id, context.signal),
      dead: ({ id }, reason) => this.repositories.broadcastMetrics.fail(id, reason),
      maxAttempts: 3,
      timeoutMs: 10 * 60_000,
    });
  }

  /**
   * Records a request and queues its report, unless the same request (app, dataset, range, channel)
   * was made within 24 hours and has not failed: then that one's id (seeds: CloudKit export).
   */
  request(row: Omit<BroadcastRequest, "id">): string {
    return this.store.transaction(() => {
      const repeat = this.repositories.broadcastMetrics.recentRepeat(row, Date.now() - LIMITS.broadcastMetricsRepeatHours.value * 3_600_000);
      if (repeat) return repeat.id;
      const id = randomUUID();
      this.insert({ id, ...row });
      return id;
    });
  }

  /** A request of the token's app and dataset: a token never reads another dataset's reports. */
  find(id: string, appId: number, dataset: string): { status: BroadcastMetricsStatus; error: string | null; createdAt: number } | undefined {
    const row = this.repositories.broadcastMetrics.find(id, appId, dataset);
    return row ? { status: row.status, error: row.error, createdAt: row.created_at } : undefined;
  }

  csv(id: string): string | undefined {
    return this.repositories.broadcastMetrics.csv(id);
  }

  private insert(row: BroadcastRequest): void {
    this.repositories.broadcastMetrics.insert(row);
    this.runner.enqueue(REPORT, row.id, { appId: row.appId, payload: { id: row.id } });
  }

  /** Queues the reports a store from before the runner left PROCESSING. */
  resumeLegacy(): void {
    const rows = this.repositories.broadcastMetrics.processing();
    this.store.transaction(() => {
      for (const row of rows) if (!this.runner.item(REPORT, row.id)) this.runner.enqueue(REPORT, row.id, { appId: row.app_id, payload: { id: row.id } });
    });
  }

  private async build(id: string, signal: AbortSignal): Promise<void> {
    const row = this.repositories.broadcastMetrics.reportSource(id);
    if (!row || row.status !== "PROCESSING") return;
    const { csv } = await broadcastMetricsCsv(
      this.workers,
      this.repositories.broadcastMetrics,
      { appId: row.app_id, bundleId: row.bundle_id, channelId: row.channel_id, startDate: row.start_date, endDate: row.end_date },
      signal,
    );
    this.repositories.broadcastMetrics.complete(id, csv);
  }
}
