// Ingestion stays bounded in memory: NDJSON bodies are read as a stream over a real socket, and a
// body or a line over its limit is refused as soon as it is seen, without the service (or the test)
// ever holding it whole; the service keeps answering afterwards.
import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deviceSchema, LIMITS, type Limit } from "../../domain/index.ts";
import { ApiError, errorBody } from "../../service/errors.ts";
import { NdjsonReader } from "../../service/ndjson.ts";
import { startService, type TestService } from "../helpers/service.ts";

const APP = "/v0.1/apps/acme/demo";
const MiB = 1024 * 1024;
let service: TestService;
let base: string;

const countDevices = () => (service.store.db.prepare("SELECT count(*) AS n FROM devices").get() as { n: number }).n;

/**
 * A request body made chunk by chunk as the socket asks for it, whole chunks until `atLeastBytes`,
 * so neither side holds it whole; `sent()` tells how much the server actually pulled in.
 */
function streamedBody(nextChunk: () => Uint8Array, atLeastBytes: number) {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= atLeastBytes) return controller.close();
      const chunk = nextChunk();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { body, sent: () => sent };
}

async function postStream(path: string, body: ReadableStream<Uint8Array>) {
  const response = await fetch(`${base}${APP}${path}`, {
    method: "POST",
    headers: { "x-api-token": service.token, "content-type": "application/x-ndjson" },
    body,
    duplex: "half",
  } as RequestInit);
  return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string }; accepted?: number } };
}

async function expectStillAnswering() {
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  const line = JSON.stringify({ install_id: randomUUID(), properties: { carrierCountry: "US" } });
  const response = await fetch(`${base}${APP}/ingest/devices/bulk`, {
    method: "POST",
    headers: { "x-api-token": service.token, "content-type": "application/x-ndjson" },
    body: `${line}\n`,
  });
  expect(await response.json()).toEqual({ accepted: 1 });
}

// About 1,260 bytes per device, so a body over the byte limit holds fewer devices than the count limit:
// the byte limit, not the count, is what refuses it.
function deviceLines(): Uint8Array {
  const custom = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`attribute-${i}`, `value number ${i} of this device`]));
  const lines = Array.from({ length: 64 }, () => JSON.stringify({ install_id: randomUUID(), properties: { carrierCountry: "US", locale: "en_US" }, custom_properties: custom }));
  return Buffer.from(`${lines.join("\n")}\n`);
}

describe("NDJSON ingestion over HTTP, bounded in memory", () => {
  beforeEach(async () => {
    service = await startService();
    base = await service.listen();
  });
  afterEach(async () => {
    await service.close();
  });

  it(`refuses a streamed body over ${LIMITS.ingestBodyBytes.value.toLocaleString("en-US")} bytes with 413, having read little more`, { timeout: 60_000 }, async () => {
    const chunk = deviceLines();
    expect(chunk.length / 64).toBeGreaterThan(LIMITS.ingestBodyBytes.value / LIMITS.ingestBatchDevices.value);
    // Offered: half as much again as the limit; without the limit the server would read and accept it all.
    const { body, sent } = streamedBody(() => chunk, LIMITS.ingestBodyBytes.value * 1.5);
    const started = Date.now();
    const response = await postStream("/ingest/devices/bulk", body);
    expect(response.status).toBe(413);
    expect(response.body.error).toEqual({
      code: "BadRequest",
      message: `request body is longer than ${LIMITS.ingestBodyBytes.value.toLocaleString("en-US")} bytes per NDJSON ingestion request (pushplane service); split it into several requests`,
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    // Socket buffers let the client get somewhat ahead of the server, not a whole body ahead.
    expect(sent()).toBeLessThan(LIMITS.ingestBodyBytes.value + 16 * MiB);
    expect(countDevices()).toBe(0);
    await expectStillAnswering();
  });

  it("refuses a 50 MiB line without a newline as soon as it passes the line limit, naming line 1", { timeout: 60_000 }, async () => {
    const chunk = new Uint8Array(64 * 1024).fill("x".charCodeAt(0));
    const { body, sent } = streamedBody(() => chunk, 50 * MiB);
    const response = await postStream("/ingest/devices/bulk", body);
    expect(response.status).toBe(413);
    expect(response.body.error?.message).toBe(`line 1 is longer than ${LIMITS.ingestLineBytes.value.toLocaleString("en-US")} bytes per NDJSON line (pushplane service)`);
    expect(sent()).toBeLessThan(16 * MiB);
    await expectStillAnswering();
  });

  it("refuses the same for events", { timeout: 60_000 }, async () => {
    const chunk = new Uint8Array(64 * 1024).fill("x".charCodeAt(0));
    const { body, sent } = streamedBody(() => chunk, 50 * MiB);
    const response = await postStream("/ingest/events", body);
    expect(response.status).toBe(413);
    expect(response.body.error?.message).toContain("line 1 is longer than 65,536 bytes per NDJSON line");
    expect(sent()).toBeLessThan(16 * MiB);
    await expectStillAnswering();
  });

  it("keeps answering when a client goes away in the middle of a body", { timeout: 30_000 }, async () => {
    const chunk = deviceLines();
    const abort = new AbortController();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // A few MiB in, the client gives up.
        if ((sent += chunk.length) > 4 * MiB) abort.abort();
        else controller.enqueue(chunk);
      },
    });
    const request = fetch(`${base}${APP}/ingest/devices/bulk`, {
      method: "POST",
      headers: { "x-api-token": service.token, "content-type": "application/x-ndjson" },
      body,
      duplex: "half",
      signal: abort.signal,
    } as RequestInit);
    await expect(request).rejects.toThrow();
    await expectStillAnswering();
    expect(countDevices()).toBe(1);
  });

  it("after refusing an upload, goes on reading it for a while, so the client is not reset before it reads the answer", { timeout: 30_000 }, async () => {
    const { hostname, port } = new URL(base);
    // Half-open allowed: the server's end of the answer must not stop this client's upload by itself.
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    const chunked = (bytes: Buffer) => Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from("\r\n")]);
    const write = (bytes: Buffer) => new Promise<void>((resolve, reject) => socket.write(bytes, (error) => (error ? reject(error) : resolve())));
    let answer = "";
    const answered = new Promise<void>((resolve) => socket.on("data", (chunk: Buffer) => (answer += chunk.toString()).includes("per NDJSON line") && resolve()));
    const failed = new Promise<Error>((resolve) => socket.on("error", resolve));
    await write(Buffer.from(`POST ${APP}/ingest/devices/bulk HTTP/1.1\r\nHost: ${hostname}\r\nx-api-token: ${service.token}\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n`));
    const line = Buffer.alloc(64 * 1024, "x");
    await write(chunked(line));
    await write(chunked(line));
    await answered;
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    // The upload goes on after the answer, as a client busy sending would; the server must not reset it.
    const more = (async () => {
      for (let i = 0; i < 64; i++) await write(chunked(line));
    })();
    const outcome = await Promise.race([more.then(() => "sent"), failed.then((error) => `reset: ${error.message}`)]);
    expect(outcome).toBe("sent");
    // Once the client stops, the connection closes at once rather than at the end of the lingering time.
    const closed = new Promise((resolve) => socket.on("close", resolve));
    const stoppedAt = Date.now();
    socket.end();
    await closed;
    expect(Date.now() - stoppedAt).toBeLessThan(2_000);
    await expectStillAnswering();
  });

  it("refuses a declared Content-Length over the limit before reading the body", { timeout: 30_000 }, async () => {
    const declared = LIMITS.ingestBodyBytes.value + 1;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${base}${APP}/ingest/devices/bulk`, {
        method: "POST",
        headers: { "x-api-token": service.token, "content-type": "application/x-ndjson", "content-length": declared },
      });
      request.on("response", (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
      });
      request.on("error", reject);
      // Without the check the server would wait for the rest of the body: fail rather than hang.
      request.setTimeout(10_000, () => request.destroy(new Error("no answer within 10 s")));
      // A little of the body and then nothing: only the declared length can have been refused.
      request.write(`${JSON.stringify({ install_id: randomUUID() })}\n`);
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.message).toBe(
      `request body of ${declared.toLocaleString("en-US")} bytes is longer than ${LIMITS.ingestBodyBytes.value.toLocaleString("en-US")} bytes per NDJSON ingestion request (pushplane service); split it into several requests`,
    );
    await expectStillAnswering();
  });
});

describe("NdjsonReader", () => {
  const limits = (line: number, body = 1024 * 1024): { body: Limit; line: Limit; items: Limit } => ({
    body: { value: body, unit: "bytes per body", source: "test" },
    line: { value: line, unit: "bytes per line", source: "test" },
    items: { value: 1000, unit: "devices", source: "test" },
  });
  const failure = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      const apiError = error as ApiError;
      return { status: apiError.status, body: errorBody(apiError.code, apiError.message) };
    }
    throw new Error("expected a failure");
  };

  it("joins lines split over chunks, even inside a multi-byte character", () => {
    const devices = [{ install_id: randomUUID(), user_id: "Zoë 🐕 Åsa" }, { install_id: randomUUID(), user_id: "李" }];
    const bytes = Buffer.from(devices.map((d) => JSON.stringify(d)).join("\n"));
    const reader = new NdjsonReader(deviceSchema, limits(1024));
    // One byte at a time: every boundary, inside characters and around the newline, is crossed.
    for (let i = 0; i < bytes.length; i++) reader.write(bytes.subarray(i, i + 1));
    expect(reader.end().map((d) => d.user_id)).toEqual(["Zoë 🐕 Åsa", "李"]);
  });

  it("takes a line of exactly the limit and refuses one byte more, whether or not its newline is in the same chunk", () => {
    const line = (bytes: number) => {
      const bare = JSON.stringify({ install_id: randomUUID(), user_id: "" });
      return JSON.stringify({ install_id: randomUUID(), user_id: "u".repeat(bytes - bare.length) });
    };
    const exact = line(200);
    expect(Buffer.byteLength(exact)).toBe(200);
    const reader = new NdjsonReader(deviceSchema, limits(200));
    reader.write(Buffer.from(`${exact}\n${exact}`));
    expect(reader.end()).toHaveLength(2);

    const over = line(201);
    const expected = { status: 413, body: errorBody("BadRequest", "line 2 is longer than 200 bytes per line (test)") };
    expect(failure(() => new NdjsonReader(deviceSchema, limits(200)).write(Buffer.from(`${exact}\n${over}\n`)))).toEqual(expected);
    const growing = new NdjsonReader(deviceSchema, limits(200));
    growing.write(Buffer.from(`${exact}\n${over.slice(0, 150)}`));
    expect(failure(() => growing.write(Buffer.from(over.slice(150))))).toEqual(expected);
    const unterminated = new NdjsonReader(deviceSchema, limits(200));
    expect(failure(() => unterminated.write(Buffer.from(`${exact}\n${over}`)))).toEqual(expected);
  });

  it("counts every byte of the body, newlines and blank lines too", () => {
    const reader = new NdjsonReader(deviceSchema, limits(100, 1000));
    reader.write(Buffer.from("\n".repeat(1000)));
    expect(failure(() => reader.write(Buffer.from("\n")))).toEqual({
      status: 413,
      body: errorBody("BadRequest", "request body is longer than 1,000 bytes per body (test); split it into several requests"),
    });
  });
});
