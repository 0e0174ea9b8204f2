import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LIMITS } from "../../domain/index.ts";
import { generateApp } from "../../service/synthetic.ts";
import { startService, type TestService } from "../helpers/service.ts";

const BASE = "/v0.1/apps/acme/demo/analytics/audiences";
let service: TestService;

beforeEach(async () => {
  service = await startService();
});
afterEach(async () => {
  await service.close();
});

const put = (name: string, body: unknown, token = service.token, base = BASE) =>
  service.app.inject({ method: "PUT", url: `${base}/${encodeURIComponent(name)}`, headers: { "x-api-token": token }, payload: body as object });
const get = (url: string, token = service.token) => service.app.inject({ method: "GET", url, headers: { "x-api-token": token } });

/** Every audience route, for the auth and isolation sweeps. */
const ROUTES: { method: "GET" | "HEAD" | "PUT" | "DELETE" | "POST"; path: string; body?: object }[] = [
  { method: "GET", path: "" },
  { method: "GET", path: "/us-users" },
  { method: "HEAD", path: "/us-users" },
  { method: "PUT", path: "/us-users", body: { definition: "carrierCountry eq 'US'" } },
  { method: "DELETE", path: "/us-users" },
  { method: "POST", path: "/definition/test", body: { definition: "carrierCountry eq 'US'" } },
  { method: "GET", path: "/metadata/custom_properties" },
  { method: "GET", path: "/metadata/device_properties" },
  { method: "GET", path: "/metadata/device_properties/locale/values" },
];

describe("auth on every route", () => {
  it.each(ROUTES)("$method $path without a token → 401 with WWW-Authenticate", async ({ method, path, body }) => {
    const response = await service.app.inject({ method, url: `${BASE}${path}`, ...(body ? { payload: body } : {}) });
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toContain("X-API-Token");
    if (method !== "HEAD") expect(response.json()).toEqual({ error: { code: "Unauthorized", message: expect.any(String) } });
  });

  it.each(ROUTES)("$method $path with a wrong token → 401", async ({ method, path, body }) => {
    const response = await service.app.inject({
      method,
      url: `${BASE}${path}`,
      headers: { "x-api-token": "pp_not-a-real-token" },
      ...(body ? { payload: body } : {}),
    });
    expect(response.statusCode).toBe(401);
  });

  it.each(ROUTES)("$method $path with another app's token → 404, nothing of this app visible", async ({ method, path, body }) => {
    await put("us-users", { definition: "carrierCountry eq 'US'" });
    const other = service.tokenFor("acme", "other");
    const response = await service.app.inject({ method, url: `${BASE}${path}`, headers: { "x-api-token": other }, ...(body ? { payload: body } : {}) });
    expect(response.statusCode).toBe(404);
    if (method !== "HEAD") expect(response.json().error.code).toBe("NotFound");
    // The audience is untouched.
    expect((await get(`${BASE}/us-users`)).statusCode).toBe(200);
  });

  it("the health route is the only public one", async () => {
    expect((await service.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });

  it("each app sees only its own audiences", async () => {
    const other = service.tokenFor("acme", "other");
    await put("mine", { definition: "locale eq 'en'" });
    await put("theirs", { definition: "locale eq 'de'" }, other, "/v0.1/apps/acme/other/analytics/audiences");
    expect((await get(BASE)).json().values.map((a: { name: string }) => a.name)).toEqual(["mine"]);
    expect((await get("/v0.1/apps/acme/other/analytics/audiences", other)).json().values.map((a: { name: string }) => a.name)).toEqual(["theirs"]);
  });
});

describe("audience CRUD per the swagger", () => {
  it("create, read, head, update, list, delete", async () => {
    const created = await put("dog-lovers", {
      definition: "dog-lover eq true and dog-breed eq 'Golden Retriever'",
      custom_properties: { "dog-lover": "boolean", "dog-breed": "string" },
      description: "Dog lovers",
    });
    expect(created.statusCode).toBe(200);
    // Answered with its size (the count may still be running); GET shows it Ready once counted.
    expect(created.json()).toMatchObject({ name: "dog-lovers", enabled: true, estimated_count: 0, description: "Dog lovers" });
    await service.services.idle();
    expect((await get(`${BASE}/dog-lovers`)).json()).toMatchObject({ state: "Ready", estimated_count: 0, estimated_total_count: 0 });

    expect((await service.app.inject({ method: "HEAD", url: `${BASE}/dog-lovers`, headers: { "x-api-token": service.token } })).statusCode).toBe(204);
    expect((await service.app.inject({ method: "HEAD", url: `${BASE}/nobody`, headers: { "x-api-token": service.token } })).statusCode).toBe(404);

    const disabled = await put("dog-lovers", { definition: "dog-lover eq true", custom_properties: { "dog-lover": "boolean" }, enabled: false });
    expect(disabled.json()).toMatchObject({ enabled: false, state: "Disabled", definition: "dog-lover eq true" });
    expect((await get(BASE)).json().values).toEqual([]);
    expect((await get(`${BASE}?include_disabled=true`)).json().values).toHaveLength(1);
    expect((await get(`${BASE}/metadata/custom_properties`)).json()).toEqual({ values: { "dog-lover": "boolean" } });

    const deleted = await service.app.inject({ method: "DELETE", url: `${BASE}/dog-lovers`, headers: { "x-api-token": service.token } });
    expect(deleted.statusCode).toBe(204);
    const again = await service.app.inject({ method: "DELETE", url: `${BASE}/dog-lovers`, headers: { "x-api-token": service.token } });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toEqual({ error: { code: "NotFound", message: "audience 'dog-lovers' not found in app 'acme/demo'" } });
    expect((await get(`${BASE}/dog-lovers`)).statusCode).toBe(404);
  });

  it("pages the list with nextLink and $top", async () => {
    for (let i = 0; i < 7; i++) await put(`a${i}`, { definition: `osApiLevel ge ${i}` });
    const names: string[] = [];
    let url: string | undefined = `${BASE}?$top=3`;
    let pages = 0;
    while (url) {
      const body = (await get(url)).json() as { values: { name: string }[]; nextLink?: string };
      names.push(...body.values.map((v) => v.name));
      url = body.nextLink;
      pages++;
    }
    expect(pages).toBe(3);
    expect(names).toEqual(["a0", "a1", "a2", "a3", "a4", "a5", "a6"]);
  });

  it("definition/test normalizes and type-checks", async () => {
    const response = await service.app.inject({
      method: "POST",
      url: `${BASE}/definition/test`,
      headers: { "x-api-token": service.token },
      payload: { definition: "osApiLevel>=21   AND locale = 'en'".replace("AND", "and") },
    });
    expect(response.json()).toEqual({ definition: "osApiLevel ge 21 and locale eq 'en'", custom_properties: {}, estimated_count: 0, estimated_total_count: 0 });
  });

  it("lists the device properties with their types", async () => {
    expect((await get(`${BASE}/metadata/device_properties`)).json().values).toMatchObject({ carrierCountry: "string", osApiLevel: "number" });
    expect((await get(`${BASE}/metadata/device_properties/nope/values`)).statusCode).toBe(404);
  });
});

describe("bad input: 400 with the same message the provider shows", () => {
  it.each([
    [{ definition: "foo eq 1" }, "definition: unknown property 'foo'"],
    [{ definition: "osApiLevel eq 'x'" }, "definition: 'osApiLevel' is a number property"],
    [{ definition: "carrierCountry eq 'US" }, "definition: unterminated string literal: expected a closing single quote (at column 19)"],
    [{ definition: "carrierCountry eq 'US' and" }, "definition: 'and' needs a condition on its right side"],
    [{ definition: `carrierCountry eq '${"x".repeat(1981)}'` }, "definition must be at most 2000 characters (got 2001"],
    [{ definition: "locale eq 'en'", description: "d".repeat(129) }, "description must be at most 128 characters (got 129"],
    [{ definition: "locale eq 'en'", custom_properties: { locale: "string" } }, "custom_properties.locale shadows the device property"],
    [{ definition: 3 }, "definition: Invalid input"],
    [{}, "definition: Invalid input"],
  ])("%j → 400 %s", async (body, message) => {
    const response = await put("bad", body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("BadRequest");
    expect(response.json().error.message).toContain(message);
  });

  it("accepts a description of exactly 128 characters", async () => {
    expect((await put("ok", { definition: "locale eq 'en'", description: "d".repeat(128) })).statusCode).toBe(200);
  });

  it.each([
    ["x".repeat(64), 200],
    ["x".repeat(65), 400],
    ["a/b", 400],
  ])("audience name %s → %i", async (name, status) => {
    const response = await put(name, { definition: "locale eq 'en'" });
    expect(response.statusCode).toBe(status);
    if (status === 400) expect(response.json().error.message).toMatch(/audience_name must (be at most 64 characters \(got 65|not contain '\/')/);
  });
});

describe(`the ${LIMITS.audiencesPerApp.value}-audiences-per-app limit`, () => {
  it("creates the 200th, refuses the 201st with 409 naming the limit, still updates existing ones", async () => {
    for (let i = 0; i < LIMITS.audiencesPerApp.value; i++) {
      expect((await put(`a${i}`, { definition: `osApiLevel ge ${i}` })).statusCode).toBe(200);
    }
    const over = await put("one-too-many", { definition: "locale eq 'en'" });
    expect(over.statusCode).toBe(409);
    expect(over.json().error).toEqual({
      code: "Conflict",
      message: "cannot create audience 'one-too-many': app 'acme/demo' already has 200 audiences; the limit is 200 audiences per app (seeds: Using the Push API)",
    });
    expect((await put("a0", { definition: "locale eq 'de'" })).statusCode).toBe(200);
    // Another app has its own budget.
    const other = service.tokenFor("acme", "other");
    expect((await put("first", { definition: "locale eq 'en'" }, other, "/v0.1/apps/acme/other/analytics/audiences")).statusCode).toBe(200);
  });
});

describe("rate limit", () => {
  it("answers 429 with Retry-After and the contract's error body", async () => {
    const limited = await startService({ rateLimitPerMinute: 2 });
    try {
      const call = () => limited.app.inject({ method: "GET", url: BASE, headers: { "x-api-token": limited.token } });
      await call();
      await call();
      const third = await call();
      expect(third.statusCode).toBe(429);
      expect(Number(third.headers["retry-after"])).toBeGreaterThan(0);
      expect(third.json().error.code).toBe("TooManyRequests");
    } finally {
      await limited.close();
    }
  });
});

describe("tokens", () => {
  it("are stored hashed, never in plaintext", async () => {
    const rows = service.store.db.prepare("SELECT * FROM api_tokens").all();
    expect(JSON.stringify(rows)).not.toContain(service.token);
  });
});

describe("sizes without a full count per request", () => {
  const definition = "carrierCountry eq 'US' and osApiLevel ge 30";

  it("estimates from a sample in a large app, close to the exact count", async () => {
    generateApp(service.services.devices, { owner: "acme", app: "demo" }, { devices: 20_000, eventsPerDevice: 0, seed: 3 });
    const exact = await service.services.counter.count({ owner: "acme", app: "demo" }, definition, {});
    // 2,000 of 20,000 devices read.
    const estimate = await service.services.counter.estimate({ owner: "acme", app: "demo" }, definition, {}, undefined, 2_000);
    expect(estimate.sampled).toBe(true);
    expect(estimate.total).toBe(20_000);
    expect(Math.abs(estimate.estimated - exact.estimated)).toBeLessThan(0.03 * 20_000);
    // At or under the sample size the answer is exact.
    expect(await service.services.counter.estimate({ owner: "acme", app: "demo" }, definition, {}, undefined, 20_000)).toEqual({ ...exact, sampled: false });
  });

  it("counts many new audiences together, each exactly (more than one pass's worth)", async () => {
    generateApp(service.services.devices, { owner: "acme", app: "demo" }, { devices: 800, eventsPerDevice: 0, seed: 6 });
    const definitions = Array.from({ length: 70 }, (_, i) => `osApiLevel ge ${20 + (i % 14)} and carrierCountry ${i % 2 ? "eq" : "ne"} 'US'`);
    await Promise.all(definitions.map((definition, i) => put(`a-${i}`, { definition })));
    await service.services.idle();
    for (const [i, definition] of definitions.entries()) {
      const exact = await service.services.counter.count({ owner: "acme", app: "demo" }, definition, {});
      expect((await get(`${BASE}/a-${i}`)).json()).toMatchObject({ state: "Ready", estimated_count: exact.estimated });
    }
  });

  it("a PUT answers with the size while the full count is pending, and GET agrees until it lands", async () => {
    // No background work runs in this service: the full count stays pending.
    await service.close();
    service = await startService({ runner: { concurrency: 0 } });
    generateApp(service.services.devices, { owner: "acme", app: "demo" }, { devices: 500, eventsPerDevice: 0, seed: 4 });
    const exact = await service.services.counter.count({ owner: "acme", app: "demo" }, definition, {});
    expect(exact.estimated).toBeGreaterThan(0);
    const created = await put("us-modern", { definition });
    expect(created.json()).toMatchObject({ state: "Calculating", estimated_count: exact.estimated });
    expect((await get(`${BASE}/us-modern`)).json()).toMatchObject({ state: "Calculating", estimated_count: exact.estimated });
    // A changed definition is estimated again.
    const widened = await put("us-modern", { definition: "carrierCountry eq 'US'" });
    expect(widened.json().estimated_count).toBe((await service.services.counter.count({ owner: "acme", app: "demo" }, "carrierCountry eq 'US'", {})).estimated);
  });
});
