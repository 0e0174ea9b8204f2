// The Braze dialect (seeds: Braze export) as a Braze client meets it: the same answers under
// /braze as on the App Center-style paths, the key as Bearer or api_key, the app as app_group_id,
// and the seed's fatal errors in Braze's shape — 400 for bad syntax, 401 for a missing or unknown
// key or app group, 429 with Retry-After.
import { afterEach, describe, expect, it } from "vitest";
import { BRAZE_BASE, LIMITS } from "../../domain/index.ts";
import { startService, type TestService } from "../helpers/service.ts";

let service: TestService;
afterEach(async () => service?.close());
const key = { owner: "acme", app: "demo" };
const group = "acme/demo";

async function withUsers(options: Parameters<typeof startService>[0] = {}) {
  service = await startService(options);
  service.services.devices.upsert(key, [
    { install_id: "0b9a3b8e-2a59-4e0e-9a4c-2f1f5f7f0a01", user_id: "ada", properties: { carrierCountry: "GB" }, custom_properties: {} },
    { install_id: "0b9a3b8e-2a59-4e0e-9a4c-2f1f5f7f0a02", user_id: "bob", properties: { carrierCountry: "US" }, custom_properties: {} },
  ] as never);
}

describe("the Braze dialect", () => {
  it("answers users by id as the App Center-style path does, with the key as Bearer or as api_key", async () => {
    await withUsers();
    const body = { external_ids: ["ada", "nobody"], fields_to_export: ["external_id"] };
    const appRoute = await service.app.inject({ method: "POST", url: "/v0.1/apps/acme/demo/users/export/ids", headers: { "x-api-token": service.token }, payload: body });
    const bearer = await service.app.inject({ method: "POST", url: `${BRAZE_BASE}/users/export/ids`, headers: { authorization: `Bearer ${service.token}` }, payload: { ...body, app_group_id: group } });
    const legacy = await service.app.inject({ method: "POST", url: `${BRAZE_BASE}/users/export/ids`, payload: { ...body, app_group_id: group, api_key: service.token } });
    expect(appRoute.statusCode).toBe(200);
    expect(appRoute.json()).toEqual({ message: "success", users: [{ external_id: "ada" }], invalid_user_ids: ["nobody"] });
    for (const response of [bearer, legacy]) expect([response.statusCode, response.json()]).toEqual([200, appRoute.json()]);
  });

  it("answers bad syntax with 400 and Braze's {message}, naming the field", async () => {
    await withUsers();
    const response = await service.app.inject({ method: "POST", url: `${BRAZE_BASE}/users/export/ids`, headers: { authorization: `Bearer ${service.token}` }, payload: { app_group_id: group, external_ids: "ada" } });
    expect(response.statusCode).toBe(400);
    expect(Object.keys(response.json())).toEqual(["message"]);
    expect(response.json().message).toContain("external_ids");
    const tooMany = await service.app.inject({ method: "POST", url: `${BRAZE_BASE}/users/export/ids`, headers: { authorization: `Bearer ${service.token}` }, payload: { app_group_id: group, external_ids: Array.from({ length: 51 }, (_, i) => `u${i}`) } });
    expect([tooMany.statusCode, tooMany.json()]).toEqual([400, { message: "external_ids must be at most 50 external ids per users export request (got 51; seeds: Braze export)" }]);
  });

  it("answers a key over its rate with 429 and Retry-After", async () => {
    await withUsers({ rateLimitPerMinute: 2 });
    const send = () => service.app.inject({ method: "POST", url: `${BRAZE_BASE}/users/export/ids`, headers: { authorization: `Bearer ${service.token}` }, payload: { app_group_id: group, external_ids: ["ada"] } });
    await send();
    await send();
    const limited = await send();
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.json().message).toContain("rate limit of 2 requests per minute exceeded");
  });

  it("deletes users as /users/delete does: one erasure per external id", async () => {
    await withUsers();
    const response = await service.app.inject({ method: "POST", url: `${BRAZE_BASE}/users/delete`, headers: { authorization: `Bearer ${service.token}` }, payload: { app_group_id: group, external_ids: ["ada", "ada"] } });
    expect([response.statusCode, response.json()]).toEqual([201, { message: "success", deleted: 1 }]);
    await service.services.idle();
    expect((service.store.db.prepare("SELECT user_id FROM devices").all() as { user_id: string }[]).map((row) => row.user_id)).toEqual(["bob"]);
  });
});

describe("Braze segments and news feed", () => {
  const get = (path: string, query: Record<string, string>) =>
    service.app.inject({ method: "GET", url: `${BRAZE_BASE}${path}?${new URLSearchParams({ app_group_id: group, ...query })}`, headers: { authorization: `Bearer ${service.token}` } });
  const put = (name: string, body: object) => service.app.inject({ method: "PUT", url: `/v0.1/apps/acme/demo/analytics/audiences/${name}`, headers: { "x-api-token": service.token }, payload: body });

  it("lists the enabled audiences newest first, 100 a page, and details one", async () => {
    await withUsers();
    for (let i = 0; i < 103; i++) expect((await put(`a${String(i).padStart(3, "0")}`, { definition: "carrierCountry eq 'GB'" })).statusCode).toBe(200);
    // One second apart, in the order of their names: the last created comes first.
    const setCreated = service.store.db.prepare("UPDATE audiences SET created_at = ? WHERE name = ?");
    for (let i = 0; i < 103; i++) setCreated.run(new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), `a${String(i).padStart(3, "0")}`);
    expect((await put("off", { definition: "carrierCountry eq 'US'", enabled: false })).statusCode).toBe(200);
    const first = (await get("/segments/list", {})).json();
    const second = (await get("/segments/list", { page: "1" })).json();
    expect(first.message).toBe("success");
    expect(first.segments).toHaveLength(100);
    expect(second.segments).toHaveLength(3);
    const ids = [...first.segments, ...second.segments].map((segment: { id: string }) => segment.id);
    expect(ids).not.toContain("off");
    expect(ids).toEqual(Array.from({ length: 103 }, (_, i) => `a${String(102 - i).padStart(3, "0")}`));
    expect(first.segments[0]).toEqual({ id: expect.any(String), name: first.segments[0].id, analytics_tracking_enabled: true, tags: [] });
    const details = (await get("/segments/details", { segment_id: "a007" })).json();
    expect(details).toEqual({ message: "success", created_at: expect.any(String), updated_at: expect.any(String), name: "a007", description: "carrierCountry eq 'GB'", tags: [] });
  });

  it("answers a segment's size at the end of each day: recorded whenever its count is written, carried over days without a change", async () => {
    await withUsers();
    expect((await put("gb", { definition: "carrierCountry eq 'GB'" })).statusCode).toBe(200);
    await service.services.idle();
    const today = Math.floor(Date.now() / 86_400_000);
    // Earlier days, as the count writes of those days would have left them.
    const record = service.store.db.prepare("INSERT OR REPLACE INTO audience_sizes VALUES ('acme', 'demo', 'gb', ?, ?)");
    record.run(today - 5, 7);
    record.run(today - 3, 9);
    const series = (await get("/segments/data_series", { segment_id: "gb", length: "7" })).json();
    expect(series.data.map((point: { size: number }) => point.size)).toEqual([0, 7, 7, 9, 9, 9, 1]);
    expect(series.data.at(-1).time).toBe(new Date().toISOString().slice(0, 10));
    // Another device in GB: the count moves, and today's size with it.
    service.services.devices.upsert(key, [{ install_id: "0b9a3b8e-2a59-4e0e-9a4c-2f1f5f7f0a03", user_id: "cy", properties: { carrierCountry: "GB" }, custom_properties: {} }] as never);
    await service.services.idle();
    expect((await get("/segments/data_series", { segment_id: "gb", length: "1" })).json().data).toEqual([{ time: new Date().toISOString().slice(0, 10), size: 2 }]);
    // Deleted, it is unknown, and its history goes with it.
    await service.app.inject({ method: "DELETE", url: "/v0.1/apps/acme/demo/analytics/audiences/gb", headers: { "x-api-token": service.token } });
    expect((await get("/segments/data_series", { segment_id: "gb", length: "1" })).statusCode).toBe(400);
    expect(service.store.db.prepare("SELECT count(*) AS n FROM audience_sizes WHERE name = 'gb'").get()).toEqual({ n: 0 });
  });

  it("answers an unknown segment, any card, a bad page and a length out of 1–100 with 400 naming the parameter", async () => {
    await withUsers();
    const cases: [string, Record<string, string>, string][] = [
      ["/segments/details", { segment_id: "nope" }, "segment_id: unknown segment 'nope' in app group 'acme/demo'"],
      ["/feed/details", { card_id: "c1" }, "card_id: unknown card 'c1' (this service has no news feed cards"],
      ["/segments/details", { segment_id: "x".repeat(5000) }, `segment_id: unknown segment '${"x".repeat(80)}…' in app group`],
      ["/feed/data_series", { card_id: "c1", length: "7" }, "card_id: unknown card 'c1'"],
      ["/feed/data_series", { card_id: "c1", length: "0" }, "length: must be between 1 and 100 inclusive (seeds: Braze export)"],
      ["/feed/data_series", { card_id: "c1", length: "101" }, "length: must be between 1 and 100 inclusive (seeds: Braze export)"],
      ["/feed/data_series", { card_id: "c1", length: "1.5" }, "length"],
      ["/feed/data_series", { card_id: "c1", length: "7", unit: "week" }, "unit"],
      ["/feed/data_series", { card_id: "c1" }, "length: is required: a whole number from 1 to 100"],
      ...["1e1", "0x10", " 10", "010", "+5", "5.0"].map((length): [string, Record<string, string>, string] => ["/kpi/dau/data_series", { length }, "length: must be a whole number from 1 to 100, in decimal digits without leading zeros"]),
      ["/segments/list", { page: "abc" }, "page"],
      ["/segments/list", { page: "1e1" }, "page: must be a page number (0, the default, is the first), in decimal digits without leading zeros"],
      ["/segments/list", { pages: "1" }, "pages"],
      ["/kpi/dau/data_series", { length: "1", ending_at: "0000-12-31T23:59:59Z" }, "ending_at: 1 day ending at 0000-12-31T23:59:59Z would begin before 0001-01-01T00:00:00Z"],
      ["/sessions/data_series", { length: "25", unit: "hour", ending_at: "0001-01-01T23:00:00Z" }, "ending_at: 25 hours ending at"],
      ["/events/data_series", { length: "1" }, "event: is required: a custom event name (events/list names them)"],
      ["/campaigns/details", {}, "campaign_id: is required: a campaign id (campaigns/list names them)"],
      ["/segments/data_series", { segment_id: "", length: "1" }, "segment_id: must not be empty: a segment id"],
      ["/kpi/dau/data_series", { length: "1", ending_at: "2026-11-01T00:00:00 02:00" }, "ending_at: must be an ISO 8601 date and time with an offset, e.g. 2026-11-23T23:59:59-05:00 (a space: a + in a URL query must be sent as %2B)"],
      // A page past any list: 400, not an offset SQLite cannot take.
      ...["/segments/list", "/campaigns/list", "/events/list", "/purchases/product_list"].map((path): [string, Record<string, string>, string] => [path, { page: "93000000000000000" }, "page: must be a page number from 0 (the default, the first) to 1000000"]),
      ["/kpi/dau/data_series", { length: "1", app_id: "y".repeat(5000) }, `app_id: '${"y".repeat(80)}…' is not an app`],
    ];
    for (const [path, query, message] of cases) {
      const response = await get(path, query);
      expect(response.statusCode, `${path} ${JSON.stringify(query)}: ${response.body}`).toBe(400);
      expect(response.json().message, path).toContain(message);
    }
    expect((await get("/kpi/dau/data_series", { length: "1", ending_at: "0001-01-01T00:00:00Z" })).json()).toEqual({ message: "success", data: [{ time: "0001-01-01", dau: 0 }] });
    expect((await get("/feed/list", { include_archived: "true" })).json()).toEqual({ message: "success", cards: [] });
    const twice = await service.app.inject({ method: "GET", url: `${BRAZE_BASE}/kpi/dau/data_series?app_group_id=${group}&length=1&length=2`, headers: { authorization: `Bearer ${service.token}` } });
    expect([twice.statusCode, twice.json()]).toEqual([400, { message: "length: must be given once" }]);
    const groupTwice = await service.app.inject({ method: "GET", url: `${BRAZE_BASE}/kpi/dau/data_series?app_group_id=${group}&app_group_id=${group}&length=1`, headers: { authorization: `Bearer ${service.token}` } });
    expect([groupTwice.statusCode, groupTwice.json()]).toEqual([400, { message: "app_group_id: must be given once" }]);
    const keyTwice = await service.app.inject({ method: "GET", url: `${BRAZE_BASE}/kpi/dau/data_series?app_group_id=${group}&length=1&api_key=${service.token}&api_key=${service.token}` });
    expect([keyTwice.statusCode, keyTwice.json()]).toEqual([400, { message: "api_key: must be given once" }]);
  });

  it("answers a path or method it does not serve with Braze's 404, and never counts a valid key as a failed authentication", async () => {
    await withUsers();
    const requests = [
      { method: "GET" as const, url: `${BRAZE_BASE}/kpi/foo/data_series?app_group_id=${group}&length=1` },
      { method: "POST" as const, url: `${BRAZE_BASE}/kpi/dau/data_series` },
      { method: "GET" as const, url: `${BRAZE_BASE}/users/export/ids` },
      { method: "GET" as const, url: `${BRAZE_BASE}/nope` },
      { method: "GET" as const, url: BRAZE_BASE },
    ];
    for (let round = 0; round < 5; round++) {
      for (const request of requests) {
        const response = await service.app.inject({ ...request, headers: { authorization: `Bearer ${service.token}` } });
        expect([response.statusCode, Object.keys(response.json())], request.url).toEqual([404, ["message"]]);
      }
    }
    // 25 misses later, the key still works (a failed authentication limit would have answered 429).
    expect((await get("/kpi/dau/data_series", { length: "1" })).statusCode).toBe(200);
  });

  it("never answers with more than a bounded message, whatever it is sent", async () => {
    await withUsers();
    const huge = "k".repeat(500_000);
    const body = await service.app.inject({ method: "POST", url: `${BRAZE_BASE}/users/export/ids`, headers: { authorization: `Bearer ${service.token}` }, payload: { app_group_id: group, external_ids: ["ada"], [huge]: 1 } });
    const query = await get("/kpi/dau/data_series", { length: "1", ["q".repeat(8_000)]: "1", ...Object.fromEntries(Array.from({ length: 1_500 }, (_, i) => [`unknown${i}`, "x"])) });
    const path = await service.app.inject({ method: "GET", url: `${BRAZE_BASE}/${"p".repeat(8_000)}?api_key=${service.token}`, headers: { authorization: `Bearer ${service.token}` } });
    for (const [response, status] of [[body, 400], [query, 400], [path, 404]] as const) {
      expect(response.statusCode, response.body.slice(0, 200)).toBe(status);
      expect(response.body.length, response.body.slice(0, 200)).toBeLessThan(LIMITS.errorMessageChars.value + 200);
      expect(response.body).not.toContain(service.token);
    }
  });
});
