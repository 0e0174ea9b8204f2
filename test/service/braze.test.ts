// The Braze dialect (seeds: Braze export) as a Braze client meets it: the same answers under
// /braze as on the App Center-style paths, the key as Bearer or api_key, the app as app_group_id,
// and the seed's fatal errors in Braze's shape — 400 for bad syntax, 401 for a missing or unknown
// key or app group, 429 with Retry-After.
import { afterEach, describe, expect, it } from "vitest";
import { BRAZE_BASE } from "../../domain/index.ts";
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
