// Redaction: no log line carries a signature, token or key from a query string, and no stored error
// message carries a credential. Tested by grepping what the service actually logged.
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startService, type TestService } from "../helpers/service.ts";

const SECRET = "c2VjcmV0LXNpZ25hdHVyZS1kby1ub3QtbG9n";
let service: TestService;
let logged = "";

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  });
  service = await startService({ logger: { level: "info", stream } });
});
afterAll(async () => {
  await service.close();
});

describe("logs", () => {
  it("never carry a signature, token or key from a query string", async () => {
    // A CloudKit download URL (the signature is the authorization), and made-up routes carrying secrets.
    await service.app.inject({ method: "GET", url: `/cloudkit/v1/broadcast-metrics/downloads/x?expires=1&sig=${SECRET}` });
    await service.app.inject({ method: "GET", url: `/v0.1/apps/acme/demo/nowhere?token=${SECRET}&api_key=${SECRET}`, headers: { "x-api-token": service.token } });
    await service.app.inject({
      method: "GET",
      url: `/v0.1/apps/acme/demo/retention_policies?container=${encodeURIComponent(`https://a.blob.core.windows.net/c?sv=1&sig=${SECRET}`)}`,
      headers: { "x-api-token": service.token },
    });
    // A key under a parameter name no rule knows, in a path, and under the Braze base.
    await service.app.inject({ method: "GET", url: `/braze/kpi/dau/data_series?app_group_id=acme/demo&length=1&apikey=${service.token}` });
    await service.app.inject({ method: "GET", url: `/braze/nowhere/${service.token}?key=${service.token}` });
    expect(logged).toContain("/cloudkit/v1/broadcast-metrics/downloads/x");
    expect(logged).not.toContain(SECRET);
    expect(logged).not.toContain(encodeURIComponent(SECRET));
    expect(logged).not.toContain(service.token);
  });
});

describe("stored and answered errors", () => {
  it("never echo credentials given in a callback URL", async () => {
    const response = await service.app.inject({
      method: "POST",
      url: "/v0.1/apps/acme/demo/raw_data/export",
      headers: { "x-api-token": service.token },
      payload: {
        starting_at: new Date(Date.now() - 3_600_000).toISOString(),
        ending_at: new Date().toISOString(),
        callback_endpoint: `https://user:${SECRET}@hooks.example.com/done`,
        blob_container_sas_uri: `https://acct.blob.core.windows.net/c?sp=cw&se=2099-01-01T00:00:00Z&sig=${SECRET}`,
      },
    });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain("callback_endpoint");
    expect(response.body).not.toContain(SECRET);
    expect(JSON.stringify(service.store.db.prepare("SELECT * FROM export_runs").all())).not.toContain(SECRET);
  });
});
