// App Center's account data-subject rights (swagger DataSubjectRight_*): an export of the token
// holder's account (the API token's record, at a signed URL), a deletion after a grace period that
// can be cancelled, statuses and Location headers as the swagger gives them, and who may see what.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startService, type TestService } from "../helpers/service.ts";
import { until } from "../helpers/until.ts";

let service: TestService;
const as = (token: string | undefined, method: "GET" | "POST", url: string) => service.app.inject({ method, url, headers: token ? { "x-api-token": token } : {} });

beforeEach(async () => {
  service = await startService({ accountDeleteGraceMs: 400 });
});
afterEach(async () => {
  await service.close();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("account export (DataSubjectRight_ExportRequest)", () => {
  it("answers 202 with the request's token and Location, then Completed with a signed URL to exactly what the service holds", async () => {
    const created = await as(service.token, "POST", "/v0.1/user/dsr/export");
    expect(created.statusCode).toBe(202);
    const { token, createdAt } = created.json();
    expect(token).toMatch(UUID);
    expect(Date.parse(createdAt)).not.toBeNaN();
    expect(created.headers.location).toBe(`/v0.1/user/dsr/export/${token}`);
    const status = await until(async () => (await as(service.token, "GET", `/v0.1/user/dsr/export/${token}`)).json(), (s) => s.status === "Completed");
    expect(status).toMatchObject({ status: "Completed", sasUrlExpired: false, message: expect.stringContaining("keeps no audit entries") });
    const url = new URL(status.sasUrl, "http://service.invalid");
    const document = await as(undefined, "GET", `${url.pathname}${url.search}`);
    expect(document.statusCode).toBe(200);
    const current = (await as(service.token, "GET", "/v0.1/api_tokens/current")).json();
    expect(document.json()).toEqual({
      api_token: { id: current.id, description: current.description, scope: current.scope, created_at: expect.any(String) },
      audit_entries: [],
      exported_at: expect.any(String),
    });
    // The token itself is in no answer, not even hashed.
    expect(document.body).not.toContain(service.token);
    // A tampered signature is refused; so is another account's look at the status.
    expect((await as(undefined, "GET", `${url.pathname}?expires=${url.searchParams.get("expires")}&sig=AAAA`)).statusCode).toBe(401);
    expect((await as(service.tokenFor("acme", "other"), "GET", `/v0.1/user/dsr/export/${token}`)).statusCode).toBe(404);
    // Past its expiry the URL is refused and the status says so.
    service.store.db.prepare("UPDATE account_dsr_requests SET document_expires_at = ? WHERE token = ?").run(Date.now() - 1, token);
    expect((await as(service.token, "GET", `/v0.1/user/dsr/export/${token}`)).json()).toMatchObject({ sasUrlExpired: true });
    expect((await as(undefined, "GET", `${url.pathname}${url.search}`)).statusCode).toBe(401);
  });

  it("a cancel of an export that ended is a 409; of an unknown request a 404; one running a 503", async () => {
    const { token } = (await as(service.token, "POST", "/v0.1/user/dsr/export")).json();
    await until(async () => (await as(service.token, "GET", `/v0.1/user/dsr/export/${token}`)).json(), (s) => s.status === "Completed");
    expect((await as(service.token, "POST", `/v0.1/user/dsr/export/${token}/cancel`)).statusCode).toBe(409);
    expect((await as(service.token, "POST", `/v0.1/user/dsr/export/${crypto.randomUUID()}/cancel`)).statusCode).toBe(404);
    service.store.db.prepare("UPDATE account_dsr_requests SET status = 'InProgress' WHERE token = ?").run(token);
    expect((await as(service.token, "POST", `/v0.1/user/dsr/export/${token}/cancel`)).statusCode).toBe(503);
  });
});

describe("account deletion (DataSubjectRight_DeleteRequest)", () => {
  it("deletes the token after the grace period: it authenticates no more, its export goes with it, the status stays readable by the request's token", async () => {
    const account = service.tokenFor("acme", "leaving");
    const exported = (await as(account, "POST", "/v0.1/user/dsr/export")).json().token;
    const exportStatus = await until(async () => (await as(account, "GET", `/v0.1/user/dsr/export/${exported}`)).json(), (s) => s.status === "Completed");
    const created = await as(account, "POST", "/v0.1/user/dsr/delete");
    expect(created.statusCode).toBe(202);
    const { token } = created.json();
    expect(created.headers.location).toBe(`/v0.1/user/dsr/delete/${token}`);
    expect((await as(account, "GET", `/v0.1/user/dsr/delete/${token}`)).json()).toMatchObject({ status: "Queued", message: expect.stringContaining("unless cancelled") });
    const done = await until(async () => (await as(undefined, "GET", `/v0.1/user/dsr/delete/${token}?email=someone@example.org`)).json(), (s) => s.status === "Completed");
    expect(done.message).toMatch(/was deleted/);
    expect((await as(account, "GET", "/v0.1/api_tokens/current")).statusCode).toBe(401);
    const url = new URL(exportStatus.sasUrl, "http://service.invalid");
    expect((await as(undefined, "GET", `${url.pathname}${url.search}`)).statusCode).toBe(401);
    // Nothing of the token is left: not its row, not its description.
    expect(service.store.db.prepare("SELECT count(*) AS n FROM api_tokens WHERE description LIKE '%leaving%'").get()).toEqual({ n: 0 });
    // Everyone else's token still works.
    expect((await as(service.token, "GET", "/v0.1/api_tokens/current")).statusCode).toBe(200);
  });

  it("is cancelled within its grace period: 202 with Location, the status None and why, the token still works", async () => {
    const { token } = (await as(service.token, "POST", "/v0.1/user/dsr/delete")).json();
    const cancelled = await service.app.inject({ method: "POST", url: `/v0.1/user/dsr/delete/${token}/cancel`, headers: { "x-api-token": service.token }, payload: { email: "someone@example.org" } });
    expect(cancelled.statusCode).toBe(202);
    expect(cancelled.headers.location).toBe(`/v0.1/user/dsr/delete/${token}`);
    expect(cancelled.json()).toEqual({ token, createdAt: expect.any(String) });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await as(undefined, "GET", `/v0.1/user/dsr/delete/${token}`)).json()).toMatchObject({ status: "None", message: expect.stringMatching(/^cancelled at .*nothing was deleted/) });
    expect((await as(service.token, "GET", "/v0.1/api_tokens/current")).statusCode).toBe(200);
    expect((await as(service.token, "POST", `/v0.1/user/dsr/delete/${token}/cancel`)).statusCode).toBe(409);
    // Another account cannot cancel it (nor learn it exists).
    const other = (await as(service.token, "POST", "/v0.1/user/dsr/delete")).json().token;
    expect((await as(service.tokenFor("acme", "other"), "POST", `/v0.1/user/dsr/delete/${other}/cancel`)).statusCode).toBe(404);
  });
});
