// Starts the real service in-process (SQLite in a temporary directory) for tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildApp, type AppOptions } from "../../service/app.ts";
import type { Services } from "../../service/services.ts";
import { createApiToken } from "../../service/auth.ts";
import { Store } from "../../service/store.ts";

export interface TestService {
  app: FastifyInstance;
  store: Store;
  dataDir: string;
  /** The app's parts (its runner, repositories), for tests that work below HTTP. */
  services: Services;
  /** A token for acme/demo. */
  token: string;
  /** Issues a token for another app. */
  tokenFor(owner: string, app: string): string;
  /** Listens on a loopback port and returns the base URL (for clients outside this process). */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Tests write exports to Azurite on loopback over http, which the outbound policy refuses unless told
 * (as the demo tells it); the runner polls often so tests need not wait.
 */
export const TEST_SERVICE_OPTIONS = { outbound: { allowLoopback: true }, runner: { pollMs: 20 } } satisfies Partial<AppOptions>;

export async function startService(options: Partial<AppOptions> = {}): Promise<TestService> {
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-test-"));
  const store = new Store(dataDir);
  const app = await buildApp({ store, ...TEST_SERVICE_OPTIONS, ...options });
  // Background work starts with the app (ready), as it does when the service listens.
  await app.ready();
  const tokenFor = (owner: string, appName: string) => createApiToken(store, { owner, app: appName }).token;
  const services = app.services;
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
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
