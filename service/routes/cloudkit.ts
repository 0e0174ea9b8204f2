// CloudKit-style broadcast push metrics export (seeds: CloudKit broadcast-metrics export). These
// routes authenticate with a data export token in X-Apple-CloudKit-Management-Token (not an API
// token): request a date range, poll the status URL, download the CSV from a signed URL that is
// valid for 30 minutes (the seed's 20–60).
import { createHash, randomUUID } from "node:crypto";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { broadcastMetricsRequestSchema, broadcastRangeProblem, LIMITS, type BroadcastMetricsStatus, type DataExportDataset } from "../../domain/index.ts";
import { ApiError, parseOr400 } from "../errors.ts";
import type { Services } from "../services.ts";

const BASE = "/cloudkit/v1/broadcast-metrics";
const DOWNLOAD_MINUTES = 30;
const STATUS_URL_MONTHS = 6;

interface TokenRow {
  id: string;
  app_id: number;
  bundle_id: string;
  dataset: DataExportDataset;
}
interface RequestRow {
  id: string;
  app_id: number;
  token_id: string;
  dataset: DataExportDataset;
  channel_id: string | null;
  start_date: string;
  end_date: string;
  status: BroadcastMetricsStatus;
  csv: string | null;
  error: string | null;
  created_at: number;
}

export const cloudKitRoutes = ({ store, box, broadcastReports, authFailures }: Services): FastifyPluginAsync => async (app) => {
  /** The data export token presented, or a 401 (counted against the client's address, as for API tokens). */
  const tokenOf = (request: FastifyRequest): TokenRow => {
    const header = request.headers["x-apple-cloudkit-management-token"];
    const hash = typeof header === "string" ? createHash("sha256").update(header).digest("hex") : "";
    const row = store.db.prepare("SELECT id, app_id, bundle_id, dataset FROM data_export_tokens WHERE token_hash = ? AND expires_at > ?").get(hash, Date.now()) as TokenRow | undefined;
    if (!row) {
      authFailures.record(request.ip);
      throw new ApiError("Unauthorized", "a valid, unexpired data export token is required in X-Apple-CloudKit-Management-Token");
    }
    return row;
  };

  const requestExport = (dataset: DataExportDataset) => async (request: FastifyRequest) => {
    const token = tokenOf(request);
    if (token.dataset !== dataset) throw new ApiError("Unauthorized", `this data export token is for ${token.dataset}, not ${dataset}`);
    const body = parseOr400(broadcastMetricsRequestSchema, request.body);
    if (dataset === "broadcast_channel_metrics" && !body.channelId) throw new ApiError("BadRequest", "channelId is required for channel metrics (base64-encoded channel id)");
    if (dataset === "broadcast_application_metrics" && body.channelId) throw new ApiError("BadRequest", "channelId applies to channel metrics only");
    const problem = broadcastRangeProblem(body.startDate, body.endDate);
    if (problem) throw new ApiError("BadRequest", problem);
    return store.transaction(() => {
      // A repeat request within 24 hours answers the same status URL (seeds: CloudKit export) —
      // unless that report failed: a repeat is then a new attempt.
      const repeat = store.db
        .prepare(
          `SELECT id FROM broadcast_metric_requests WHERE app_id = ? AND dataset = ? AND start_date = ? AND end_date = ? AND coalesce(channel_id, '') = ?
             AND created_at > ? AND status != 'FAILED'
           ORDER BY created_at DESC LIMIT 1`,
        )
        .get(token.app_id, dataset, body.startDate, body.endDate, body.channelId ?? "", Date.now() - LIMITS.broadcastMetricsRepeatHours.value * 3_600_000) as { id: string } | undefined;
      if (repeat) return { statusUrl: `${BASE}/requests/${repeat.id}` };
      const id = randomUUID();
      broadcastReports.request({
        id,
        appId: token.app_id,
        tokenId: token.id,
        bundleId: token.bundle_id,
        dataset,
        channelId: body.channelId ?? null,
        startDate: body.startDate,
        endDate: body.endDate,
      });
      return { statusUrl: `${BASE}/requests/${id}` };
    });
  };

  const cloudKitAuth = { config: { public: true } };
  app.post(`${BASE}/application/export`, cloudKitAuth, requestExport("broadcast_application_metrics"));
  app.post(`${BASE}/channel/export`, cloudKitAuth, requestExport("broadcast_channel_metrics"));

  app.get(`${BASE}/requests/:id`, cloudKitAuth, async (request) => {
    const token = tokenOf(request);
    const { id } = request.params as { id: string };
    // A token reads the reports of its own app and dataset only: a channel-metrics token never sees application metrics.
    const row = store.db.prepare("SELECT * FROM broadcast_metric_requests WHERE id = ? AND app_id = ? AND dataset = ?").get(id, token.app_id, token.dataset) as RequestRow | undefined;
    if (!row) throw new ApiError("NotFound", `no broadcast metrics request ${id} for this token's app and dataset`);
    const expiredAt = new Date(row.created_at);
    expiredAt.setUTCMonth(expiredAt.getUTCMonth() + STATUS_URL_MONTHS);
    if (Date.now() >= expiredAt.getTime()) return { status: "EXPIRED" };
    if (row.status !== "SUCCESS") return { status: row.status, ...(row.error ? { error: row.error } : {}) };
    const expires = Date.now() + DOWNLOAD_MINUTES * 60_000;
    const signature = box.sign("broadcast-download", `${id}:${expires}`);
    return {
      status: "SUCCESS",
      downloadDetails: { dataUrl: `${BASE}/downloads/${id}?expires=${expires}&sig=${signature}`, expiration: new Date(expires).toISOString() },
    };
  });

  // The signed URL is the authorization here, as with a storage download link.
  app.get(`${BASE}/downloads/:id`, cloudKitAuth, async (request, reply) => {
    const { id } = request.params as { id: string };
    const { expires, sig } = request.query as { expires?: string; sig?: string };
    if (!expires || !sig || !box.verify("broadcast-download", `${id}:${expires}`, sig)) {
      authFailures.record(request.ip);
      throw new ApiError("Unauthorized", "the download URL's signature is not valid");
    }
    if (Date.now() > Number(expires)) throw new ApiError("Unauthorized", "the download URL expired: ask the status URL for a new one");
    const row = store.db.prepare("SELECT csv FROM broadcast_metric_requests WHERE id = ?").get(id) as { csv: string | null } | undefined;
    if (!row?.csv) throw new ApiError("NotFound", `no report for request ${id}`);
    return reply.header("content-type", "text/csv; charset=utf-8").send(row.csv);
  });
};
