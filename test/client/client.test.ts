import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { PushplaneApiError, PushplaneClient } from "../../client/client.ts";

type Reply = { status: number; headers?: Record<string, string>; body?: unknown };

/** A loopback server that answers from a script, one reply per request, and records requests. */
async function scriptedServer(script: Reply[]): Promise<{ url: string; requests: IncomingMessage[]; server: Server }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    requests.push(request);
    const reply = script[Math.min(requests.length - 1, script.length - 1)]!;
    response.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
    response.end(reply.body === undefined ? "" : JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

const ref = { owner: "acme", app: "demo" };
const audience = {
  name: "us",
  definition: "carrierCountry eq 'US'",
  enabled: true,
  custom_properties: {},
  estimated_count: 0,
  estimated_total_count: 0,
  state: "Ready",
  timestamp: "2026-01-01T00:00:00Z",
};
const unavailable: Reply = { status: 503, body: { error: { code: "InternalServerError", message: "try later" } } };

describe("PushplaneClient retries", () => {
  it("honours Retry-After on 429, then succeeds", async () => {
    const { url, requests } = await scriptedServer([
      { status: 429, headers: { "retry-after": "1" }, body: { error: { code: "TooManyRequests", message: "slow down" } } },
      { status: 200, body: audience },
    ]);
    const client = new PushplaneClient({ endpoint: url, apiToken: "pp_secret", maxDelayMs: 5_000 });
    const started = Date.now();
    expect(await client.getAudience(ref, "us")).toMatchObject({ name: "us" });
    expect(requests).toHaveLength(2);
    // The wait came from the header (1 s), not from the 250 ms first backoff step.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(requests[0]!.headers["x-api-token"]).toBe("pp_secret");
  });

  it("caps a long Retry-After at maxDelayMs", async () => {
    const { url, requests } = await scriptedServer([{ status: 429, headers: { "retry-after": "3600" } }, { status: 200, body: audience }]);
    const client = new PushplaneClient({ endpoint: url, apiToken: "pp_x", maxDelayMs: 100 });
    const started = Date.now();
    await client.getAudience(ref, "us");
    expect(requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("retries 503 with backoff until it succeeds", async () => {
    const { url, requests } = await scriptedServer([unavailable, unavailable, { status: 200, body: audience }]);
    const client = new PushplaneClient({ endpoint: url, apiToken: "pp_x", maxDelayMs: 50 });
    await client.putAudience(ref, "us", { definition: "carrierCountry eq 'US'" });
    expect(requests).toHaveLength(3);
    expect(requests.every((r) => r.method === "PUT")).toBe(true);
  });

  it("gives up after the retry limit with the service's message", async () => {
    const { url, requests } = await scriptedServer([unavailable]);
    const client = new PushplaneClient({ endpoint: url, apiToken: "pp_x", retries: 2, maxDelayMs: 20 });
    await expect(client.getAudience(ref, "us")).rejects.toThrow("GET /v0.1/apps/acme/demo/analytics/audiences/us: 503 InternalServerError: try later");
    expect(requests).toHaveLength(3);
  });

  it.each([
    [501, "NotImplemented"],
    [400, "BadRequest"],
    [409, "Conflict"],
  ])("does not retry %i", async (status, code) => {
    const { url, requests } = await scriptedServer([{ status, body: { error: { code, message: "no" } } }]);
    const client = new PushplaneClient({ endpoint: url, apiToken: "pp_x", maxDelayMs: 20 });
    const error = await client.putAudience(ref, "us", { definition: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PushplaneApiError);
    expect((error as PushplaneApiError).status).toBe(status);
    expect(requests).toHaveLength(1);
  });

  it("does not retry a non-idempotent POST", async () => {
    const { url, requests } = await scriptedServer([unavailable]);
    const client = new PushplaneClient({ endpoint: url, apiToken: "pp_x", maxDelayMs: 20 });
    await expect(client.testDefinition(ref, { definition: "x" })).rejects.toThrow(PushplaneApiError);
    expect(requests).toHaveLength(1);
  });

  it("treats 404 as absent on get and delete", async () => {
    const { url } = await scriptedServer([{ status: 404, body: { error: { code: "NotFound", message: "gone" } } }]);
    const client = new PushplaneClient({ endpoint: url, apiToken: "pp_x" });
    expect(await client.getAudience(ref, "us")).toBeUndefined();
    expect(await client.deleteAudience(ref, "us")).toBe(false);
    expect(await client.audienceExists(ref, "us")).toBe(false);
  });

  it("never puts the token in an error message", async () => {
    const { url } = await scriptedServer([{ status: 400, body: { error: { code: "BadRequest", message: "bad" } } }]);
    const client = new PushplaneClient({ endpoint: url, apiToken: "pp_very_secret" });
    const error = (await client.putAudience(ref, "us", { definition: "x" }).catch((e: unknown) => e)) as Error;
    expect(`${error.message} ${error.stack}`).not.toContain("pp_very_secret");
  });
});

describe("PushplaneClient and redirects", () => {
  it("does not follow a redirect, so the token never goes to the address it names", async () => {
    const elsewhere = await scriptedServer([{ status: 200, body: audience }]);
    const service = await scriptedServer([{ status: 302, headers: { location: `${elsewhere.url}/steal` } }]);
    const client = new PushplaneClient({ endpoint: service.url, apiToken: "pp_secret", retries: 0 });
    const failure = await client.getAudience(ref, "us").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PushplaneApiError);
    expect((failure as Error).message).toContain(`the service answered with a redirect to ${elsewhere.url}/steal, which pushplane does not follow (the API token would go along)`);
    expect(elsewhere.requests).toHaveLength(0);
  });
});
