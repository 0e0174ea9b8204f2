// What a mobile SDK (or a backfill) sends: devices one by one or in bulk (NDJSON), and events.
// A bulk request is checked whole before anything is written, then written in slices that leave the
// event loop free between them; resending the same body after a crash writes only what is missing.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import { z } from "zod";
import { API, deviceSchema, eventSchema, eventsBodySchema, LIMITS, type DeviceInput, type EventInput, type Limit } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { serve } from "../contract.ts";
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

export const ingestRoutes = ({ devices, dataSubjectRequests }: Services): FastifyPluginAsync => async (app) => {
  serve(app, API.ingestDevice, ({ body, request }) => {
    devices.upsert(scopedApp(request), [body], () => "device");
    return { install_id: body.install_id };
  });

  // Each NDJSON route in a scope of its own, so its parser knows which schema a line must match.
  await app.register(async (bulk) => {
    acceptNdjson(bulk, deviceSchema, LIMITS.ingestBatchDevices);
    serve(bulk, API.ingestDevicesBulk, async ({ request }) => {
      const key = scopedApp(request);
      if (!(request.body instanceof NdjsonBatch)) throw new ApiError("BadRequest", `bulk ingestion takes ${NDJSON}: one device JSON object per line`);
      const { items, digest } = request.body as NdjsonBatch<DeviceInput>;
      return { accepted: await devices.ingestDevices(key, items, () => digest, (index) => `device ${index + 1}`) };
    });
  });

  await app.register(async (events) => {
    acceptNdjson(events, eventSchema, LIMITS.ingestBatchEvents);
    serve(
      events,
      API.ingestEvents,
      async ({ request }) => {
        const key = scopedApp(request);
        // NDJSON is parsed and checked line by line as it streams in; JSON here (its schema is the contract's).
        if (request.body instanceof NdjsonBatch) {
          const { items, digest } = request.body as NdjsonBatch<EventInput>;
          return { accepted: await devices.ingestEvents(key, items, () => digest) };
        }
        const { events: batch } = parseOr400(eventsBodySchema, request.body);
        // Hashed only when the body is large enough to be written in slices.
        return { accepted: await devices.ingestEvents(key, batch, () => createHash("sha256").update(JSON.stringify(batch)).digest("hex")) };
      },
      { bodyLimit: LIMITS.ingestJsonBodyBytes.value, errorHandler: jsonEventsTooLarge },
    );
  });

  // swagger: Push_DeleteInstallId
  serve(app, API.deleteDevice, ({ params, request }) => {
    const key = scopedApp(request);
    // The same erasure as a data-subject request for this install id (service/dsr.ts).
    if (!dataSubjectRequests.eraseDevice(key, params.install_id)) throw new ApiError("NotFound", `device '${params.install_id}' not found in app '${key.owner}/${key.app}'`);
    return {};
  });
};
