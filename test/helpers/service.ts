// Starts the real service in-process (SQLite in a temporary directory) for tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildApp, type AppOptions } from "../../service/app.ts";
import { createServices, type Services } from "../../service/services.ts";
import { createApiToken } from "../../service/auth.ts";
import { Store } from "../../service/store.ts";

export interface TestService {
  app: FastifyInstance;
  store: Store;
  dataDir: string;
  /** The store's parts, for tests that work below HTTP (a second set over the same store). */
  services: Services;
  /** A token for acme/demo. */
  token: string;
  /** Issues a token for another app. */
  tokenFor(owner: string, app: string): string;
  /** Listens on a loopback port and returns the base URL (for clients outside this process). */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function startService(options: Partial<AppOptions> = {}): Promise<TestService> {
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-test-"));
  const store = new Store(dataDir);
  const app = await buildApp({ store, ...options });
  const tokenFor = (owner: string, appName: string) => createApiToken(store, { owner, app: appName }).token;
  const services = createServices(store);
  let listening: Promise<string> | undefined;
  return {
    app,
    store,
    services,
    dataDir,
    token: tokenFor("acme", "demo"),
    tokenFor,
    // Once per service: later calls answer the same address.
    listen: () => (listening ??= app.listen({ port: 0, host: "127.0.0.1" })),
    async close() {
      await app.close();
      await services.close();
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
