// Token scopes (domain/token-scope.ts) on every route family: a token for one app, for a list of apps
// (across owners) and for all of an owner's apps reaches exactly the apps its scope covers; every
// other app answers 404, as if it did not exist.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API, type ApiRoute } from "../../domain/index.ts";
import { createApiToken } from "../../service/auth.ts";
import { startService, type TestService } from "../helpers/service.ts";

let service: TestService;
beforeAll(async () => {
  service = await startService();
});
afterAll(async () => {
  await service.close();
});

/** Every GET of the contract whose only path parameters are the app's and that needs no query: one per route family at least. */
const appReads = (Object.keys(API) as ApiRoute[]).filter((name) => {
  const route = API[name] as { method: string; path: string; auth: string; query?: { safeParse(v: unknown): { success: boolean } } };
  const pathParams = route.path.match(/:\w+/g) ?? [];
  return route.method === "GET" && route.auth === "apiToken" && pathParams.join() === ":owner_name,:app_name" && (!route.query || route.query.safeParse({}).success);
});

const get = (name: ApiRoute, owner: string, app: string, token: string) =>
  service.app.inject({ method: "GET", url: API[name].path.replace(":owner_name", owner).replace(":app_name", app), headers: { "x-api-token": token } });

const scopes = {
  "one app": { scope: ["acme/ios"], reaches: ["acme/ios"] },
  "a list of apps, across owners": { scope: ["acme/ios", "globex/web"], reaches: ["acme/ios", "globex/web"] },
  "every app of an owner": { scope: ["acme/*"], reaches: ["acme/ios", "acme/android", "acme/tvos"] },
};
const APPS = ["acme/ios", "acme/android", "acme/tvos", "globex/web", "initech/ios"];

describe("API token scopes", () => {
  it("covers route families enough to mean something", () => {
    expect(appReads.length).toBeGreaterThanOrEqual(7);
  });

  describe.each(Object.entries(scopes))("a token for %s", (_, { scope, reaches }) => {
    const token = () => createApiToken(service.store, scope).token;

    it("answers its apps and 404s every other app, on every route family", async () => {
      const value = token();
      for (const name of appReads) {
        for (const key of APPS) {
          const [owner, app] = key.split("/") as [string, string];
          const response = await get(name, owner, app, value);
          // Reached: answered, or "not found" for what the app lacks (say, push credentials), never for the app.
          if (reaches.includes(key)) expect(response.body, `${name} ${key}`).not.toContain("not found for this API token");
          else expect({ name, key, status: response.statusCode, body: response.json() }).toMatchObject({ status: 404, body: { error: { code: "NotFound", message: `app '${key}' not found for this API token` } } });
        }
      }
    });

    it("tells its holder its scope", async () => {
      const response = await service.app.inject({ method: "GET", url: API.currentApiToken.path, headers: { "x-api-token": token() } });
      expect(response.json()).toMatchObject({ scope });
      expect(response.body).not.toContain("pp_");
    });
  });

  it("refuses a malformed scope", () => {
    expect(() => createApiToken(service.store, ["acme"])).toThrow(/owner\/app/);
    expect(() => createApiToken(service.store, ["acme/ios/extra"])).toThrow(/owner\/app/);
  });
});
