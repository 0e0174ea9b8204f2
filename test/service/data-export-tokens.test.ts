import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { latestTokenExpiry } from "../../domain/index.ts";
import { startService, type TestService } from "../helpers/service.ts";

const BASE = "/v0.1/apps/acme/demo/data_export_tokens";
let service: TestService;
beforeEach(async () => {
  service = await startService();
});
afterEach(async () => {
  await service.close();
});
const call = (method: "GET" | "POST" | "DELETE", url: string, payload?: object, token = service.token) =>
  service.app.inject({ method, url, headers: { "x-api-token": token }, ...(payload ? { payload } : {}) });
const request = (expires: Date) => ({ name: "metrics", bundle_id: "com.example.app", dataset: "broadcast_application_metrics", expires_at: expires.toISOString() });

describe("data export tokens (seeds: CloudKit broadcast-metrics export)", () => {
  it("shows the value once, stores only its hash, revokes on delete", async () => {
    const created = await call("POST", BASE, request(new Date(Date.now() + 30 * 86_400_000)));
    expect(created.statusCode).toBe(201);
    const { id, token } = created.json();
    expect(token).toMatch(/^dxt_/);
    const read = (await call("GET", `${BASE}/${id}`)).json();
    expect(read).toMatchObject({ id, bundle_id: "com.example.app", dataset: "broadcast_application_metrics" });
    expect(read.token).toBeUndefined();
    expect(JSON.stringify(service.store.db.prepare("SELECT * FROM data_export_tokens").all())).not.toContain(token);
    expect((await call("DELETE", `${BASE}/${id}`)).statusCode).toBe(204);
    expect((await call("GET", `${BASE}/${id}`)).statusCode).toBe(404);
  });

  it("accepts an expiry exactly six months ahead, refuses one a minute later", async () => {
    const latest = latestTokenExpiry(new Date());
    expect((await call("POST", BASE, request(new Date(latest.getTime() - 60_000)))).statusCode).toBe(201);
    const over = await call("POST", BASE, request(new Date(latest.getTime() + 60_000)));
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toContain("expires_at must be at most 6 months ahead");
    expect(over.json().error.message).toContain("seeds: CloudKit broadcast-metrics export");
  });

  it("refuses a past expiry, an unknown dataset and a bad bundle id", async () => {
    expect((await call("POST", BASE, request(new Date(Date.now() - 1000)))).json().error.message).toContain("expires_at must be in the future");
    expect((await call("POST", BASE, { ...request(new Date(Date.now() + 86_400_000)), dataset: "everything" })).json().error.message).toContain("dataset");
    expect((await call("POST", BASE, { ...request(new Date(Date.now() + 86_400_000)), bundle_id: "app" })).json().error.message).toContain("bundle_id: must be a bundle identifier");
  });

  it("another app's token cannot see it", async () => {
    const { id } = (await call("POST", BASE, request(new Date(Date.now() + 86_400_000)))).json();
    expect((await call("GET", `${BASE}/${id}`, undefined, service.tokenFor("acme", "other"))).statusCode).toBe(404);
  });
});
