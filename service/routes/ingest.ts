// What a mobile SDK (or a backfill) sends: devices one by one or in bulk (NDJSON), and events.
// A bulk request is all-or-nothing: one transaction, so a crash never leaves half a batch.
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { atMost, deviceSchema, eventSchema, LIMITS, type DeviceInput, type EventInput } from "../../domain/index.ts";
import { scopedApp } from "../auth.ts";
import { ApiError, parseOr400, zodIssues } from "../errors.ts";
import type { Services } from "../services.ts";

const NDJSON = "application/x-ndjson";
const BULK_BODY_LIMIT = 512 * 1024 * 1024;
const MAX_REPORTED_ISSUES = 10;

/** Parses NDJSON lines with a schema; issues name the line (1-based) and the field. */
function parseLines<T>(text: string, schema: z.ZodType<T>, limit: number): T[] {
  const items: T[] = [];
  const issues: string[] = [];
  let lineNumber = 0;
  for (const line of text.split("\n")) {
    lineNumber++;
    if (line.trim() === "") continue;
    if (items.length >= limit) throw new ApiError("BadRequest", `body ${atMost(LIMITS.ingestBatchDevices, lineNumber)}`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      issues.push(`line ${lineNumber}: not valid JSON`);
      continue;
    }
    const result = schema.safeParse(value);
    if (result.success) items.push(result.data);
    else issues.push(...zodIssues(result.error).map((i) => `line ${lineNumber}: ${i.message}`));
    if (issues.length >= MAX_REPORTED_ISSUES) break;
  }
  if (issues.length > 0) throw new ApiError("BadRequest", issues.slice(0, MAX_REPORTED_ISSUES).join("; "));
  return items;
}

const eventsBody = z.object({ events: z.array(eventSchema).max(LIMITS.ingestBatchDevices.value) }).strict();

export const ingestRoutes = ({ devices }: Services): FastifyPluginAsync => async (app) => {
  app.addContentTypeParser(NDJSON, { parseAs: "string", bodyLimit: BULK_BODY_LIMIT }, (_request, body, done) => done(null, body));

  app.post("/ingest/devices", async (request) => {
    const key = scopedApp(request);
    const device = parseOr400(deviceSchema, request.body);
    devices.upsert(key, [device], () => "device");
    return { install_id: device.install_id };
  });

  app.post("/ingest/devices/bulk", { bodyLimit: BULK_BODY_LIMIT }, async (request) => {
    const key = scopedApp(request);
    if (typeof request.body !== "string") throw new ApiError("BadRequest", `bulk ingestion takes ${NDJSON}: one device JSON object per line`);
    const batch: DeviceInput[] = parseLines(request.body, deviceSchema, LIMITS.ingestBatchDevices.value);
    const accepted = devices.upsert(key, batch, (index) => `device ${index + 1}`);
    return { accepted };
  });

  app.post("/ingest/events", { bodyLimit: BULK_BODY_LIMIT }, async (request) => {
    const key = scopedApp(request);
    const events: EventInput[] =
      typeof request.body === "string"
        ? parseLines(request.body, eventSchema, LIMITS.ingestBatchDevices.value)
        : parseOr400(eventsBody, request.body).events;
    return { accepted: devices.insertEvents(key, events) };
  });

  // swagger: Push_DeleteInstallId
  app.delete("/push/devices/:install_id", async (request) => {
    const key = scopedApp(request);
    const { install_id: installId } = request.params as { install_id: string };
    if (!devices.delete(key, installId)) throw new ApiError("NotFound", `device '${installId}' not found in app '${key.owner}/${key.app}'`);
    return {};
  });
};
