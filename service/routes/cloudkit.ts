// CloudKit-style broadcast push metrics export (seeds: CloudKit broadcast-metrics export; schemas in
// domain/api.ts). These routes authenticate with a data export token in
// X-Apple-CloudKit-Management-Token (not an API token): request a date range, poll the status URL,
// download the CSV from a signed URL that is valid for 30 minutes (the seed's 20–60).
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { API, broadcastRangeProblem, type DataExportDataset } from "../../domain/index.ts";
import { serve } from "../contract.ts";
import type { PresentedToken } from "../data-export-tokens.ts";
import { ApiError } from "../errors.ts";
import type { Services } from "../services.ts";

const BASE = "/cloudkit/v1/broadcast-metrics";
const DOWNLOAD_MINUTES = 30;
const STATUS_URL_MONTHS = 6;

export const cloudKitRoutes = ({ box, broadcastReports, dataExportTokens, authFailures }: Services): FastifyPluginAsync => async (app) => {
  /** The data export token presented, or a 401 (counted against the client's address, as for API tokens). */
  const tokenOf = (request: FastifyRequest): PresentedToken => {
    const header = request.headers["x-apple-cloudkit-management-token"];
    const token = dataExportTokens.presented(typeof header === "string" ? header : undefined);
    if (!token) {
      authFailures.record(request.ip);
      throw new ApiError("Unauthorized", "a valid, unexpired data export token is required in X-Apple-CloudKit-Management-Token");
    }
    return token;
  };

  for (const [contract, dataset] of [
    [API.requestApplicationMetrics, "broadcast_application_metrics"],
    [API.requestChannelMetrics, "broadcast_channel_metrics"],
  ] as const satisfies readonly (readonly [unknown, DataExportDataset])[]) {
    serve(app, contract, ({ body, request }) => {
      const token = tokenOf(request);
      if (token.dataset !== dataset) throw new ApiError("Unauthorized", `this data export token is for ${token.dataset}, not ${dataset}`);
      if (dataset === "broadcast_channel_metrics" && !body.channelId) throw new ApiError("BadRequest", "channelId is required for channel metrics (base64-encoded channel id)");
      if (dataset === "broadcast_application_metrics" && body.channelId) throw new ApiError("BadRequest", "channelId applies to channel metrics only");
      const problem = broadcastRangeProblem(body.startDate, body.endDate);
      if (problem) throw new ApiError("BadRequest", problem);
      const id = broadcastReports.request({
        appId: token.appId,
        tokenId: token.id,
        bundleId: token.bundleId,
        dataset,
        channelId: body.channelId ?? null,
        startDate: body.startDate,
        endDate: body.endDate,
      });
      return { statusUrl: `${BASE}/requests/${id}` };
    });
  }

  serve(app, API.broadcastMetricsStatus, ({ params, request }) => {
    const token = tokenOf(request);
    const found = broadcastReports.find(params.id, token.appId, token.dataset);
    if (!found) throw new ApiError("NotFound", `no broadcast metrics request ${params.id} for this token's app and dataset`);
    const expiredAt = new Date(found.createdAt);
    expiredAt.setUTCMonth(expiredAt.getUTCMonth() + STATUS_URL_MONTHS);
    if (Date.now() >= expiredAt.getTime()) return { status: "EXPIRED" as const };
    if (found.status !== "SUCCESS") return { status: found.status, ...(found.error ? { error: found.error } : {}) };
    const expires = Date.now() + DOWNLOAD_MINUTES * 60_000;
    const signature = box.sign("broadcast-download", `${params.id}:${expires}`);
    return {
      status: "SUCCESS" as const,
      downloadDetails: { dataUrl: `${BASE}/downloads/${params.id}?expires=${expires}&sig=${signature}`, expiration: new Date(expires).toISOString() },
    };
  });

  // The signed URL is the authorization here, as with a storage download link.
  serve(app, API.broadcastMetricsDownload, ({ params, query, request, reply }) => {
    const { expires, sig } = query;
    if (!expires || !sig || !box.verify("broadcast-download", `${params.id}:${expires}`, sig)) {
      authFailures.record(request.ip);
      throw new ApiError("Unauthorized", "the download URL's signature is not valid");
    }
    if (Date.now() > Number(expires)) throw new ApiError("Unauthorized", "the download URL expired: ask the status URL for a new one");
    const csv = broadcastReports.csv(params.id);
    if (!csv) throw new ApiError("NotFound", `no report for request ${params.id}`);
    return reply.header("content-type", "text/csv; charset=utf-8").send(csv);
  });
};
