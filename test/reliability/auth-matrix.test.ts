// The auth matrix, generated from the route table the service registers (app.routeTable): every
// non-public route is called with every kind of wrong credential (none, malformed, made up, another
// app's, a credential of the other kind or in the other header) and must refuse it; the CloudKit
// routes are checked the same way against their data export tokens and signed download URLs; and
// the per-address limiter on failed authentication is shown to stop token guessing.
import { randomBytes, randomUUID } from "node:crypto";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import type { RouteEntry } from "../../service/app.ts";
import { createApiToken } from "../../service/auth.ts";
import { startService, type TestService } from "../helpers/service.ts";

const OWNER = "acme";
const APP = "demo";
const APP_PREFIX = `/v0.1/apps/${OWNER}/${APP}`;
const CLOUDKIT = "/cloudkit/v1/broadcast-metrics";
const DAY = 86_400_000;
/** Routes the generation must find at least: the table shrinking below this means routes went missing, not that auth got simpler. */
const MIN_ROUTES = 45;

type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
type Headers = Record<string, string>;

const randomApiToken = () => `pp_${randomBytes(32).toString("base64url")}`;
const randomDataExportToken = () => `dxt_${randomBytes(32).toString("base64url")}`;
const isoDay = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString().slice(0, 10);

/** Plausible values for the route table's path parameters, so a refusal is about the credential and never about the URL. */
function concreteUrl(template: string): string {
  return template.replace(/:([A-Za-z_]+)/g, (_match, name: string) => {
    switch (name) {
      case "owner_name":
        return OWNER;
      case "app_name":
        return APP;
      case "audience_name":
        return "matrix-audience";
      case "property_name":
        return "appVersion";
      default:
        // Every other parameter is an id (install, notification, export, run, job, token, configuration, request).
        return name.endsWith("id") ? randomUUID() : "x";
    }
  });
}

/** A JSON body for the methods that take one; the body is never what decides an auth answer. */
const bodyFor = (method: string) => (["POST", "PUT", "PATCH"].includes(method) ? { payload: {} } : {});

// Hundreds of refusals come from one address here; the limiter has a test of its own below, so it
// is lifted out of the matrix's way.
const service: TestService = await startService({ authFailuresPerMinute: 1_000_000 });
afterAll(async () => {
  await service.close();
});

const otherAppToken = service.tokenFor(OWNER, "other");
const ownerToken = createApiToken(service.store, [`${OWNER}/*`]).token;

async function api(method: string, url: string, payload?: object): Promise<LightMyRequestResponse> {
  return service.app.inject({ method: method as Method, url, headers: { "x-api-token": service.token }, ...(payload ? { payload } : {}) });
}

async function createDataExportToken(token: string, app: string, dataset: "broadcast_application_metrics" | "broadcast_channel_metrics"): Promise<string> {
  const response = await service.app.inject({
    method: "POST",
    url: `/v0.1/apps/${OWNER}/${app}/data_export_tokens`,
    headers: { "x-api-token": token },
    payload: { name: "matrix", bundle_id: `com.${OWNER}.${app}`, dataset, expires_at: new Date(Date.now() + 30 * DAY).toISOString() },
  });
  expect(response.statusCode, response.body).toBe(201);
  return (response.json() as { token: string }).token;
}

const applicationMetricsToken = await createDataExportToken(service.token, APP, "broadcast_application_metrics");
const channelMetricsToken = await createDataExportToken(service.token, APP, "broadcast_channel_metrics");
const otherAppMetricsToken = await createDataExportToken(otherAppToken, "other", "broadcast_application_metrics");

const routeTable: readonly RouteEntry[] = service.app.routeTable;
const protectedRoutes = routeTable.filter((route) => !route.public);
const publicRoutes = routeTable.filter((route) => route.public && !route.braze);
const brazeRoutes = routeTable.filter((route) => route.braze);

/** One wrong credential for an API-token route and the answer it must get. */
interface ApiCredentialCase {
  readonly name: string;
  readonly headers: Headers;
  readonly expected: { status: 401 } | { status: 404; message: string };
}

const UNAUTHORIZED = { status: 401 } as const;
const apiCredentialCases: readonly ApiCredentialCase[] = [
  { name: "no X-API-Token", headers: {}, expected: UNAUTHORIZED },
  { name: "malformed: garbage", headers: { "x-api-token": "garbage" }, expected: UNAUTHORIZED },
  { name: "malformed: the bare prefix pp_", headers: { "x-api-token": "pp_" }, expected: UNAUTHORIZED },
  { name: "malformed: a 10 KB string", headers: { "x-api-token": "x".repeat(10 * 1024) }, expected: UNAUTHORIZED },
  { name: "malformed: a 10 KB string after pp_", headers: { "x-api-token": `pp_${"A".repeat(10 * 1024)}` }, expected: UNAUTHORIZED },
  { name: "a random well-formed pp_ token", headers: { "x-api-token": randomApiToken() }, expected: UNAUTHORIZED },
  // Scoping: a real token of acme/other on acme/demo's URL sees nothing of acme/demo.
  { name: "a valid token of another app", headers: { "x-api-token": otherAppToken }, expected: { status: 404, message: `app '${OWNER}/${APP}' not found for this API token` } },
  // Other scope: a data export token is not an API token, and an API token is not taken from the CloudKit header.
  { name: "a data export token as X-API-Token", headers: { "x-api-token": applicationMetricsToken }, expected: UNAUTHORIZED },
  { name: "a valid API token in X-Apple-CloudKit-Management-Token only", headers: { "x-apple-cloudkit-management-token": service.token }, expected: UNAUTHORIZED },
];

function expectErrorBody(response: LightMyRequestResponse, method: string, code: string, message?: string): void {
  // HEAD answers carry no body; the status is the whole answer.
  if (method === "HEAD") return;
  const body = response.json() as { error?: { code?: unknown; message?: unknown } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(body.error?.code).toBe(code);
  expect(typeof body.error?.message).toBe("string");
  if (message !== undefined) expect(body.error?.message).toBe(message);
}

describe("the route table the matrix is generated from", () => {
  it(`holds every route (at least ${MIN_ROUTES}), so the generated matrix cannot silently shrink`, () => {
    expect(routeTable.length).toBeGreaterThanOrEqual(MIN_ROUTES);
    expect(protectedRoutes.length).toBeGreaterThanOrEqual(MIN_ROUTES - 5);
  });

  it("exempts only health, the CloudKit routes and the account routes' capability URLs from X-API-Token (a new public route needs rows of its own below)", () => {
    expect(publicRoutes.map((route) => `${route.method} ${route.url}`).sort()).toEqual(
      [
        "GET /healthz",
        // The OpenAPI document describes the routes, it holds no data.
        "GET /openapi.json",
        `POST ${CLOUDKIT}/application/export`,
        `POST ${CLOUDKIT}/channel/export`,
        `GET ${CLOUDKIT}/requests/:id`,
        `GET ${CLOUDKIT}/downloads/:id`,
        // An account deletion's status (its request token is the capability) and an account export's signed document.
        "GET /v0.1/user/dsr/delete/:token",
        "GET /v0.1/user/dsr/export/:token/document",
      ].sort(),
    );
  });
});

describe("every route that takes X-API-Token refuses every wrong credential", () => {
  for (const route of protectedRoutes) {
    it(`${route.method} ${route.url}`, async () => {
      for (const credential of apiCredentialCases) {
        const url = concreteUrl(route.url);
        const response = await service.app.inject({ method: route.method as Method, url, headers: credential.headers, ...bodyFor(route.method) });
        const context = `${route.method} ${url} with ${credential.name}: ${response.statusCode} ${response.body.slice(0, 300)}`;
        // A route outside any app (the token's own scope, its own account) answers any valid token,
        // about that token only: its scope, its own account requests, or none of another's (404).
        if (!route.url.includes(":owner_name") && credential.headers["x-api-token"] === otherAppToken) {
          expect([200, 202, 404], context).toContain(response.statusCode);
          if (route.url === "/v0.1/api_tokens/current") expect(response.json(), context).toMatchObject({ scope: [`${OWNER}/other`] });
          continue;
        }
        expect(response.statusCode, context).toBe(credential.expected.status);
        if (credential.expected.status === 401) {
          expect(response.headers["www-authenticate"], context).toBe('ApiKey header="X-API-Token"');
          expectErrorBody(response, route.method, "Unauthorized");
        } else {
          expectErrorBody(response, route.method, "NotFound", credential.expected.message);
        }
      }
      // The control: the right token gets past authentication and scoping on the same URL, so the
      // refusals above are about the credential (whatever the handler then makes of the empty body).
      const url = concreteUrl(route.url);
      const accepted = await service.app.inject({ method: route.method as Method, url, headers: { "x-api-token": service.token }, ...bodyFor(route.method) });
      const context = `${route.method} ${url} with the valid token: ${accepted.statusCode} ${accepted.body.slice(0, 300)}`;
      expect(accepted.statusCode, context).not.toBe(401);
      expect(accepted.statusCode, context).toBeLessThan(500);
      if (accepted.statusCode === 404 && route.method !== "HEAD") {
        expect((accepted.json() as { error: { message: string } }).error.message, context).not.toContain("not found for this API token");
      }
    });
  }
});

describe("every Braze dialect route takes its key as Bearer or api_key, and the app as app_group_id", () => {
  const group = `${OWNER}/${APP}`;
  /** Wrong credentials and the message a Braze client reads (seeds: Braze export, fatal errors: 401). */
  const wrong: readonly { name: string; headers: Headers; payload: Record<string, unknown>; message: string }[] = [
    { name: "no key", headers: {}, payload: { app_group_id: group }, message: "missing API key: send Authorization: Bearer <key> (or api_key)" },
    { name: "only X-API-Token (not how Braze clients send a key)", headers: { "x-api-token": service.token }, payload: { app_group_id: group }, message: "missing API key: send Authorization: Bearer <key> (or api_key)" },
    { name: "a garbage Bearer key", headers: { authorization: "Bearer garbage" }, payload: { app_group_id: group }, message: "unknown API key" },
    { name: "a random well-formed Bearer key", headers: { authorization: `Bearer ${randomApiToken()}` }, payload: { app_group_id: group }, message: "unknown API key" },
    { name: "a 10 KB api_key", headers: {}, payload: { app_group_id: group, api_key: "x".repeat(10 * 1024) }, message: "unknown API key" },
    { name: "a data export token as the key", headers: { authorization: `Bearer ${applicationMetricsToken}` }, payload: { app_group_id: group }, message: "unknown API key" },
    { name: "a valid key without app_group_id", headers: { authorization: `Bearer ${service.token}` }, payload: {}, message: "missing app_group_id: name the app as owner/app" },
    { name: "another app's key on this app group", headers: { authorization: `Bearer ${otherAppToken}` }, payload: { app_group_id: group }, message: `unknown app_group_id '${group}': it is owner/app of an app this API key may use (${OWNER}/other)` },
    { name: "a valid key on an app group it does not cover", headers: { authorization: `Bearer ${service.token}` }, payload: { app_group_id: `${OWNER}/other` }, message: `unknown app_group_id '${OWNER}/other': it is owner/app of an app this API key may use (${OWNER}/${APP})` },
    ...["*", " ", "ios\n", "ios extra"].map((app) => ({ name: `app_group_id ${JSON.stringify(`${OWNER}/${app}`)} under an owner-wide key`, headers: { authorization: `Bearer ${ownerToken}` }, payload: { app_group_id: `${OWNER}/${app}` }, message: `unknown app_group_id '${OWNER}/${app}': it is owner/app of an app this API key may use (${OWNER}/*)` })),
    { name: "a 3,000-character app_group_id (quoted cut short)", headers: { authorization: `Bearer ${service.token}` }, payload: { app_group_id: "g".repeat(3000) }, message: `unknown app_group_id '${"g".repeat(80)}…': it is owner/app of an app this API key may use (${OWNER}/${APP})` },
  ];
  it("holds the routes the seed names (at least the four that existed before the dialect)", () => expect(brazeRoutes.length).toBeGreaterThanOrEqual(4));
  for (const route of brazeRoutes) {
    it(`${route.method} ${route.url}`, async () => {
      const send = (headers: Headers, payload: Record<string, unknown>) =>
        route.method === "GET"
          ? service.app.inject({ method: "GET", url: `${route.url}?${new URLSearchParams(payload as Record<string, string>)}`, headers })
          : service.app.inject({ method: route.method as Method, url: route.url, headers, payload });
      for (const credential of wrong) {
        const response = await send(credential.headers, credential.payload);
        const context = `${route.method} ${route.url} with ${credential.name}: ${response.statusCode} ${response.body.slice(0, 300)}`;
        expect(response.statusCode, context).toBe(401);
        expect(response.json(), context).toEqual({ message: credential.message });
      }
      // The controls: Bearer, and the legacy api_key, each get past authentication (whatever the handler makes of the rest).
      for (const [name, headers, payload] of [
        ["Bearer", { authorization: `Bearer ${service.token}` }, { app_group_id: group }],
        ["api_key", {}, { app_group_id: group, api_key: service.token }],
      ] as const) {
        const accepted = await send(headers, payload);
        const context = `${route.method} ${route.url} with ${name}: ${accepted.statusCode} ${accepted.body.slice(0, 300)}`;
        expect(accepted.statusCode, context).not.toBe(401);
        expect(accepted.statusCode, context).toBeLessThan(500);
      }
    });
  }
});

describe("the CloudKit routes take a data export token in X-Apple-CloudKit-Management-Token", () => {
  const exportBody = (route: "application" | "channel") =>
    route === "application" ? { startDate: isoDay(3), endDate: isoDay(1) } : { startDate: isoDay(3), endDate: isoDay(1), channelId: Buffer.from("vips").toString("base64") };
  const cloudKit = (method: "GET" | "POST", url: string, headers: Headers, payload?: object) =>
    service.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

  async function expectUnauthorized(response: LightMyRequestResponse, context: string): Promise<void> {
    expect(response.statusCode, `${context}: ${response.body.slice(0, 300)}`).toBe(401);
    expectErrorBody(response, "GET", "Unauthorized");
  }

  /** Wrong credentials every CloudKit token route must refuse, whatever its dataset. */
  const wrongCloudKitCredentials: readonly { name: string; headers: Headers }[] = [
    { name: "no header", headers: {} },
    { name: "an API token in the CloudKit header", headers: { "x-apple-cloudkit-management-token": service.token } },
    { name: "a valid API token as X-API-Token (the wrong header for these routes)", headers: { "x-api-token": service.token } },
    { name: "a random data export token", headers: { "x-apple-cloudkit-management-token": randomDataExportToken() } },
    { name: "garbage", headers: { "x-apple-cloudkit-management-token": "garbage" } },
    { name: "a 10 KB string", headers: { "x-apple-cloudkit-management-token": "x".repeat(10 * 1024) } },
  ];

  for (const route of ["application", "channel"] as const) {
    it(`POST ${CLOUDKIT}/${route}/export`, async () => {
      const url = `${CLOUDKIT}/${route}/export`;
      for (const credential of wrongCloudKitCredentials) await expectUnauthorized(await cloudKit("POST", url, credential.headers, exportBody(route)), `${url} with ${credential.name}`);
      // A token of the other dataset does not open this one.
      const otherDataset = route === "application" ? channelMetricsToken : applicationMetricsToken;
      await expectUnauthorized(await cloudKit("POST", url, { "x-apple-cloudkit-management-token": otherDataset }, exportBody(route)), `${url} with the other dataset's token`);
      const ownToken = route === "application" ? applicationMetricsToken : channelMetricsToken;
      const accepted = await cloudKit("POST", url, { "x-apple-cloudkit-management-token": ownToken }, exportBody(route));
      expect(accepted.statusCode, accepted.body).toBe(200);
      expect((accepted.json() as { statusUrl: string }).statusUrl).toMatch(new RegExp(`^${CLOUDKIT}/requests/`));
    });
  }

  it(`GET ${CLOUDKIT}/requests/:id`, async () => {
    const requested = await cloudKit("POST", `${CLOUDKIT}/application/export`, { "x-apple-cloudkit-management-token": applicationMetricsToken }, exportBody("application"));
    const { statusUrl } = requested.json() as { statusUrl: string };
    for (const credential of wrongCloudKitCredentials) await expectUnauthorized(await cloudKit("GET", statusUrl, credential.headers), `${statusUrl} with ${credential.name}`);
    // A token of the other dataset, or of another app, is a real token: it is told nothing exists (or refused), never shown the report.
    for (const [name, token] of [
      ["the other dataset's token", channelMetricsToken],
      ["another app's token", otherAppMetricsToken],
    ] as const) {
      const response = await cloudKit("GET", statusUrl, { "x-apple-cloudkit-management-token": token });
      expect([401, 404], `${statusUrl} with ${name}: ${response.statusCode} ${response.body}`).toContain(response.statusCode);
      expect(response.body).not.toContain("downloadDetails");
    }
    const own = await cloudKit("GET", statusUrl, { "x-apple-cloudkit-management-token": applicationMetricsToken });
    expect(own.statusCode, own.body).toBe(200);
  });

  it(`GET ${CLOUDKIT}/downloads/:id is authorized by its signature alone`, async () => {
    const headers = { "x-apple-cloudkit-management-token": applicationMetricsToken };
    const { statusUrl } = (await cloudKit("POST", `${CLOUDKIT}/application/export`, headers, { startDate: isoDay(2), endDate: isoDay(1) })).json() as { statusUrl: string };
    let status = (await cloudKit("GET", statusUrl, headers)).json() as { status: string; downloadDetails?: { dataUrl: string } };
    for (let i = 0; i < 100 && status.status === "PROCESSING"; i++) {
      await service.services.idle();
      status = (await cloudKit("GET", statusUrl, headers)).json() as typeof status;
    }
    expect(status.status).toBe("SUCCESS");
    const dataUrl = new URL(status.downloadDetails!.dataUrl, "http://service.invalid");
    const id = dataUrl.pathname.split("/").at(-1)!;
    const expires = dataUrl.searchParams.get("expires")!;
    const sig = dataUrl.searchParams.get("sig")!;
    const flipped = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    const badDownloads: readonly [string, string][] = [
      ["no query", `${CLOUDKIT}/downloads/${id}`],
      ["no signature", `${CLOUDKIT}/downloads/${id}?expires=${expires}`],
      ["an empty signature", `${CLOUDKIT}/downloads/${id}?expires=${expires}&sig=`],
      ["a tampered signature", `${CLOUDKIT}/downloads/${id}?expires=${expires}&sig=${flipped}`],
      ["a truncated signature", `${CLOUDKIT}/downloads/${id}?expires=${expires}&sig=${sig.slice(0, -2)}`],
      ["a garbage signature", `${CLOUDKIT}/downloads/${id}?expires=${expires}&sig=garbage`],
      ["an expiry moved later", `${CLOUDKIT}/downloads/${id}?expires=${Number(expires) + 3_600_000}&sig=${sig}`],
      ["the signature on another request id", `${CLOUDKIT}/downloads/${randomUUID()}?expires=${expires}&sig=${sig}`],
    ];
    for (const [name, url] of badDownloads) {
      // The data export token does not stand in for a signature.
      await expectUnauthorized(await cloudKit("GET", url, headers), `download with ${name}`);
      await expectUnauthorized(await cloudKit("GET", url, {}), `download with ${name}, no token`);
    }
    const download = await cloudKit("GET", `${dataUrl.pathname}${dataUrl.search}`, {});
    expect(download.statusCode, download.body).toBe(200);
    expect(download.headers["content-type"]).toContain("text/csv");
  });
});

describe("the account routes' capability URLs", () => {
  const account = service.tokenFor(OWNER, "account-matrix");
  const as = (url: string, headers: Headers = {}) => service.app.inject({ method: "GET", url, headers });

  it("GET /v0.1/user/dsr/delete/:token answers its request's token alone: an unknown one is a 404 that says nothing else", async () => {
    const created = await service.app.inject({ method: "POST", url: "/v0.1/user/dsr/delete", headers: { "x-api-token": account } });
    const { token } = created.json() as { token: string };
    expect((await as(`/v0.1/user/dsr/delete/${token}`)).json()).toMatchObject({ status: "Queued" });
    for (const url of [`/v0.1/user/dsr/delete/${randomUUID()}`, `/v0.1/user/dsr/delete/${token.slice(0, -1)}${token.endsWith("0") ? "1" : "0"}`, "/v0.1/user/dsr/delete/x"]) {
      const response = await as(url, { "x-api-token": account });
      expect(response.statusCode, url).toBe(404);
      expect(response.body).not.toContain("Queued");
    }
    // Cancelling takes the account's own token: another's cannot, nor can no token at all.
    expect((await service.app.inject({ method: "POST", url: `/v0.1/user/dsr/delete/${token}/cancel`, headers: { "x-api-token": otherAppToken } })).statusCode).toBe(404);
    expect((await service.app.inject({ method: "POST", url: `/v0.1/user/dsr/delete/${token}/cancel` })).statusCode).toBe(401);
    expect((await service.app.inject({ method: "POST", url: `/v0.1/user/dsr/delete/${token}/cancel`, headers: { "x-api-token": account } })).statusCode).toBe(202);
  });

  it("GET /v0.1/user/dsr/export/:token/document is authorized by its signature alone", async () => {
    const { token } = (await service.app.inject({ method: "POST", url: "/v0.1/user/dsr/export", headers: { "x-api-token": account } })).json() as { token: string };
    let status = (await as(`/v0.1/user/dsr/export/${token}`, { "x-api-token": account })).json() as { status: string; sasUrl?: string };
    for (let i = 0; i < 100 && status.status !== "Completed"; i++) {
      await service.services.idle();
      status = (await as(`/v0.1/user/dsr/export/${token}`, { "x-api-token": account })).json() as typeof status;
    }
    const url = new URL(status.sasUrl!, "http://service.invalid");
    const expires = url.searchParams.get("expires")!;
    const sig = url.searchParams.get("sig")!;
    const flipped = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    const bad: readonly [string, string][] = [
      ["no query", url.pathname],
      ["no signature", `${url.pathname}?expires=${expires}`],
      ["a tampered signature", `${url.pathname}?expires=${expires}&sig=${flipped}`],
      ["an expiry moved later", `${url.pathname}?expires=${Number(expires) + 3_600_000}&sig=${sig}`],
      ["the signature on another request", `/v0.1/user/dsr/export/${randomUUID()}/document?expires=${expires}&sig=${sig}`],
    ];
    for (const [name, target] of bad) {
      // The account's API token does not stand in for the signature.
      expect((await as(target, { "x-api-token": account })).statusCode, name).toBe(401);
      expect((await as(target)).statusCode, `${name}, no token`).toBe(401);
    }
    const document = await as(`${url.pathname}${url.search}`);
    expect(document.statusCode, document.body).toBe(200);
  });
});

describe("failed authentication is limited per client address", () => {
  it("answers 429 with Retry-After after 30 failures a minute, before looking at any credential, and only for that address", async () => {
    const limited = await startService();
    try {
      const url = `${APP_PREFIX}/analytics/audiences`;
      const statuses: number[] = [];
      let retryAfterMissing = 0;
      // One at a time, so "the first 30" is the order the service saw them in.
      for (let i = 0; i < 2_500; i++) {
        const response = await limited.app.inject({ method: "GET", url, headers: { "x-api-token": randomApiToken() } });
        statuses.push(response.statusCode);
        if (response.statusCode === 429) {
          const retryAfter = Number(response.headers["retry-after"]);
          if (!(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60)) retryAfterMissing++;
        }
      }
      expect(statuses.slice(0, 30)).toEqual(new Array(30).fill(401));
      expect(statuses.slice(30).filter((status) => status !== 429)).toEqual([]);
      expect(retryAfterMissing).toBe(0);

      // Limited before the credential is looked at: even the valid token from this address waits.
      const validFromSameAddress = await limited.app.inject({ method: "GET", url, headers: { "x-api-token": limited.token } });
      expect(validFromSameAddress.statusCode, validFromSameAddress.body).toBe(429);
      expect(validFromSameAddress.headers["retry-after"]).toBeDefined();
      expectErrorBody(validFromSameAddress, "GET", "TooManyRequests");

      // The health check stays answerable from the limited address (a load balancer shares it).
      expect((await limited.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);

      // Per address: another client is not locked out by this one's guessing.
      const validFromElsewhere = await limited.app.inject({ method: "GET", url, remoteAddress: "10.9.8.7", headers: { "x-api-token": limited.token } });
      expect(validFromElsewhere.statusCode, validFromElsewhere.body).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
