// A loopback HTTP proxy that forwards to a service but injects faults into a seeded share of the
// calls: 429 with Retry-After, 503, a connection dropped before forwarding, and a connection dropped
// after the service has answered (the write happened, the client never learns it did).
import { createHash } from "node:crypto";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export const FAULT_KINDS = ["429", "503", "drop", "drop-after-forward"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What the proxy knows about a call when it decides its fate. */
export interface ProxiedCall {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  /** How many calls with this method and path came before this one (0 for the first). */
  occurrence: number;
}

export interface FlakyProxyOptions {
  /** Base URL of the service, e.g. `http://127.0.0.1:1234`. */
  target: string;
  /** Seeds every decision; the same seed injects the same faults into the same calls. */
  seed: number;
  /** Share of calls that get a fault, 0..1; default 0.3. */
  faultRate?: number;
}

export interface FlakyProxyStats {
  requests: number;
  /** Calls that reached the service (including those whose answer was then dropped). */
  forwarded: number;
  faults: Record<FaultKind, number>;
  /** Faults by HTTP method, to see that writes (PUT/DELETE) were hit too. */
  faultsByMethod: Record<string, number>;
}

export interface FlakyProxy {
  readonly url: string;
  readonly seed: number;
  readonly stats: FlakyProxyStats;
  /**
   * Overrides the seeded choice: answer a fault kind, `null` for "no fault", or `undefined` to
   * leave it to the seed. For tests that need one exact failure rather than a share of them.
   */
  decide: ((call: ProxiedCall) => FaultKind | null | undefined) | undefined;
  /** Stops injecting faults (everything is forwarded from now on). */
  heal(): void;
  close(): Promise<void>;
}

/**
 * A uniform number in [0, 1) for (seed, call, salt): a counter-based generator. Keying it by method,
 * path and occurrence rather than by arrival order means Pulumi's concurrency, which interleaves
 * calls differently on every run, does not change which call gets which fault, so a failing seed
 * reproduces.
 */
function draw(seed: number, call: ProxiedCall, salt: string): number {
  const digest = createHash("sha256").update(`${seed}\u0000${call.method} ${call.path}\u0000${call.occurrence}\u0000${salt}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

// Hop-by-hop headers are the proxy's own business; lengths are recomputed from buffered bodies.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "content-length"]);
const endToEnd = (headers: IncomingHttpHeaders): IncomingHttpHeaders =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));

const readBody = async (stream: IncomingMessage): Promise<Buffer> => Buffer.concat(await Array.fromAsync(stream as AsyncIterable<Buffer>));

export async function startFlakyProxy(options: FlakyProxyOptions): Promise<FlakyProxy> {
  const target = new URL(options.target);
  const faultRate = options.faultRate ?? 0.3;
  const occurrences = new Map<string, number>();
  const stats: FlakyProxyStats = {
    requests: 0,
    forwarded: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>,
    faultsByMethod: {},
  };
  let healed = false;
  const sockets = new Set<Socket>();

  const seeded = (call: ProxiedCall): FaultKind | null => {
    if (draw(options.seed, call, "fault?") >= faultRate) return null;
    return FAULT_KINDS[Math.floor(draw(options.seed, call, "kind") * FAULT_KINDS.length)]!;
  };

  const forward = async (request: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: { ...endToEnd(request.headers), host: target.host, "content-length": String(body.length) },
        },
        (response) => {
          readBody(response).then((data) => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: data }), reject);
        },
      );
      upstream.on("error", reject);
      upstream.end(body);
    });

  const answer = (response: ServerResponse, status: number, headers: Record<string, string>, code: string) => {
    const body = JSON.stringify({ error: { code, message: `injected by the flaky proxy (seed ${options.seed})` } });
    response.writeHead(status, { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
    response.end(body);
  };

  const server = createServer((request, response) => {
    void (async () => {
      const method = request.method ?? "GET";
      const path = request.url ?? "/";
      const key = `${method} ${path}`;
      const occurrence = occurrences.get(key) ?? 0;
      occurrences.set(key, occurrence + 1);
      stats.requests++;
      const call = { method, path, occurrence };
      const overridden = proxy.decide?.(call);
      const fault = healed ? null : overridden === undefined ? seeded(call) : overridden;
      if (fault) {
        stats.faults[fault]++;
        stats.faultsByMethod[method] = (stats.faultsByMethod[method] ?? 0) + 1;
      }
      if (fault === "drop") {
        // Nothing reaches the service; the client sees the connection close without an answer.
        request.socket.destroy();
        return;
      }
      if (fault === "429") {
        answer(response, 429, { "retry-after": draw(options.seed, call, "retry-after") < 0.5 ? "0" : "1" }, "TooManyRequests");
        return;
      }
      if (fault === "503") {
        answer(response, 503, {}, "ServiceUnavailable");
        return;
      }
      const body = await readBody(request);
      const upstream = await forward(request, body);
      stats.forwarded++;
      if (fault === "drop-after-forward") {
        // The service has done the work and answered; the client never hears of it.
        request.socket.destroy();
        return;
      }
      response.writeHead(upstream.status, { ...endToEnd(upstream.headers), "content-length": String(upstream.body.length) });
      response.end(upstream.body);
    })().catch((error: unknown) => {
      // The service itself failed to answer: say so as a gateway error rather than hang the client.
      if (!response.headersSent) answer(response, 502, {}, `BadGateway: ${String(error)}`);
      else request.socket.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const proxy: FlakyProxy = {
    url: `http://127.0.0.1:${port}`,
    seed: options.seed,
    stats,
    decide: undefined,
    heal: () => {
      healed = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
  return proxy;
}

/** The seed from `PUSHPLANE_FAULT_SEED` (to replay a failure), else a fresh one. */
export function faultSeed(): number {
  const given = process.env.PUSHPLANE_FAULT_SEED;
  if (given !== undefined && given !== "") {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`PUSHPLANE_FAULT_SEED must be an integer, got '${given}'`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}
