// The broadcast-metrics report (seeds: CloudKit broadcast-metrics export): one CSV row per day with
// subscribers, messages sent, delivered and opened, counts from 1 to 9 suppressed as -1. Shared by
// the CloudKit request/status/download routes and the broadcast_metrics_export job kind.
import { stringify } from "csv-stringify/sync";
import { BROADCAST_METRICS_COLUMNS, suppress } from "../../domain/index.ts";
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
export function broadcastMetricsCsv(store: Store, request: BroadcastReportRequest): { csv: string; days: number } {
  const channelAudience = request.channelId ? Buffer.from(request.channelId, "base64").toString("utf8") : undefined;
  const notificationFilter = channelAudience ? "AND n.target IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(n.target, '$.audiences') WHERE value = ?)" : "";
  const sent = store.db.prepare(
    `SELECT count(*) AS sent, sum(nd.outcome = 'Success') AS delivered FROM notifications n JOIN notification_deliveries nd ON nd.notification_id = n.id
     WHERE n.app_id = ? AND n.send_time >= ? AND n.send_time < ? ${notificationFilter}`,
  );
  const opened = store.db.prepare(
    `SELECT count(*) AS opened FROM events e JOIN notifications n ON n.id = e.notification_id
     WHERE e.app_id = ? AND e.type = 'push_opened' AND e.occurred_at >= ? AND e.occurred_at < ? ${notificationFilter}`,
  );
  const subscribers = store.db.prepare("SELECT count(*) AS n FROM devices WHERE app_id = ? AND push_channel = 'apns' AND push_token IS NOT NULL AND updated_at < ?");
  const rows: (string | number)[][] = [[...BROADCAST_METRICS_COLUMNS]];
  for (let day = Date.parse(`${request.startDate}T00:00:00Z`); day <= Date.parse(`${request.endDate}T00:00:00Z`); day += DAY) {
    const params = [request.appId, day, day + DAY, ...(channelAudience ? [channelAudience] : [])];
    const s = sent.get(...params) as { sent: number; delivered: number | null };
    const o = opened.get(...params) as { opened: number };
    const subs = (subscribers.get(request.appId, day + DAY) as { n: number }).n;
    rows.push([new Date(day).toISOString().slice(0, 10), request.bundleId, request.channelId ?? "", suppress(subs), suppress(s.sent), suppress(s.delivered ?? 0), suppress(o.opened)]);
  }
  return { csv: stringify(rows), days: rows.length - 1 };
}
