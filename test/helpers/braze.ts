// A service for the Braze dialect's tests, with a Braze client's GET: the key as Bearer, the app
// group named, a 200 expected.
import { afterAll, beforeAll, expect } from "vitest";
import { BRAZE_BASE, type AppKey } from "../../domain/index.ts";
import type { AppOptions } from "../../service/app.ts";
import { startService, type TestService } from "./service.ts";

export interface BrazeAnswer {
  data: Record<string, unknown>[];
  events?: string[];
  products?: string[];
}

/** Starts a service (background work off unless `options` say otherwise) for the file's tests and answers how to reach it. */
export function brazeSuite(key: AppKey, options: Partial<AppOptions> = {}): { service: () => TestService; get: (path: string, query: Record<string, string>) => Promise<BrazeAnswer> } {
  let service: TestService;
  let token: string;
  beforeAll(async () => {
    service = await startService({ runner: { concurrency: 0 }, ...options });
    token = service.tokenFor(key.owner, key.app);
  });
  afterAll(async () => service?.close());
  return {
    service: () => service,
    get: async (path, query) => {
      const url = `${BRAZE_BASE}${path}?${new URLSearchParams({ app_group_id: `${key.owner}/${key.app}`, ...query })}`;
      const response = await service.app.inject({ method: "GET", url, headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode, response.body).toBe(200);
      return response.json() as BrazeAnswer;
    },
  };
}
