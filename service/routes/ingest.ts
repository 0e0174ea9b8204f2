// What a mobile SDK (or a backfill) sends: devices one by one or in bulk (NDJSON), and events.
// A bulk request is all-or-nothing: one transaction, so a crash never leaves half a batch.
import type { IncomingMessage } from "node:http";
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import { z } from "zod";
import { deviceSchema, eventSchema, LIMITS, type DeviceInput, type EventInput, type Limit } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { ApiError, parseOr400 } from "../errors.ts";
import { NdjsonBatch, PayloadTooLarge, readNdjson, stated } from "../ndjson.ts";
import type { Services } from "../services.ts";

const NDJSON = "application/x-ndjson";

/**
 * Makes `scope` read NDJSON bodies as a stream, one `schema` item per line, so the service holds the
 * validated items and at most one line of raw bytes, never the body. The token is checked against
 * the app first, so another app's token cannot make the service read a body at all.
 */
function acceptNdjson<T>(scope: FastifyInstance, schema: z.ZodType<T>, items: Limit): void {
  scope.addContentTypeParser(NDJSON, async (request: FastifyRequest, payload: IncomingMessage) => {
    scopedApp(request);
    return readNdjson(payload, request.headers["content-length"], schema, { body: LIMITS.ingestBodyBytes, line: LIMITS.ingestLineBytes, items });
  });
}

const eventsBody = z.object({ events: z.array(eventSchema).max(LIMITS.ingestBatchEvents.value) }).strict();

/** A JSON events body over its limit is answered with that limit and the way to send more. */
function jsonEventsTooLarge(error: FastifyError): void {
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    throw new PayloadTooLarge(
      `request body is longer than ${stated(LIMITS.ingestJsonBodyBytes)}; send more events as ${NDJSON}, one event per line, up to ${stated(LIMITS.ingestBodyBytes)}`,
    );
  }
  // Anything else goes on to the app's error handler.
  throw error;
}

export const ingestRoutes = ({ devices }: Services): FastifyPluginAsync => async (app) => {
  app.post("/ingest/devices", async (request) => {
    const key = scopedApp(request);
    const device = parseOr400(deviceSchema, request.body);
    devices.upsert(key, [device], () => "device");
    return { install_id: device.install_id };
  });

  // Each NDJSON route in a scope of its own, so its parser knows which schema a line must match.
  await app.register(async (bulk) => {
    acceptNdjson(bulk, deviceSchema, LIMITS.ingestBatchDevices);
    bulk.post("/ingest/devices/bulk", async (request) => {
      const key = scopedApp(request);
      if (!(request.body instanceof NdjsonBatch)) throw new ApiError("BadRequest", `bulk ingestion takes ${NDJSON}: one device JSON object per line`);
      const batch = request.body.items as DeviceInput[];
      // All of the batch or none of it, in one transaction, once the whole body has been read.
      const accepted = devices.upsert(key, batch, (index) => `device ${index + 1}`);
      return { accepted };
    });
  });

  await app.register(async (events) => {
    acceptNdjson(events, eventSchema, LIMITS.ingestBatchEvents);
    events.post("/ingest/events", { bodyLimit: LIMITS.ingestJsonBodyBytes.value, errorHandler: jsonEventsTooLarge }, async (request) => {
      const key = scopedApp(request);
      const batch: EventInput[] = request.body instanceof NdjsonBatch ? (request.body.items as EventInput[]) : parseOr400(eventsBody, request.body).events;
      return { accepted: devices.insertEvents(key, batch) };
    });
  });

  // swagger: Push_DeleteInstallId
  app.delete("/push/devices/:install_id", async (request) => {
    const key = scopedApp(request);
    const { install_id: installId } = request.params as { install_id: string };
    if (!devices.delete(key, installId)) throw new ApiError("NotFound", `device '${installId}' not found in app '${key.owner}/${key.app}'`);
    return {};
  });
};
