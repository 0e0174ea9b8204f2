// A service process for the reliability suite: the real app on a data directory, with a sender that
// appends every delivery to a log file (so several processes' deliveries can be counted), optional
// per-delivery delay (so a kill lands mid-send), and short leases (so a restart takes work back fast).
// Options come as JSON in PUSHPLANE_RELIABILITY; the first line on stdout names the address.
import { appendFileSync } from "node:fs";
import { buildApp } from "../../service/app.ts";
import type { PushSender } from "../../service/notifications.ts";
import { Store } from "../../service/store.ts";

interface Options {
  dataDir: string;
  senderLog?: string;
  senderDelayMs?: number;
  leaseMs?: number;
  requestTimeoutMs?: number;
}

const options = JSON.parse(process.env.PUSHPLANE_RELIABILITY ?? "{}") as Options;
const sender: PushSender = {
  async send(delivery) {
    if (options.senderDelayMs) await new Promise((resolve) => setTimeout(resolve, options.senderDelayMs));
    // One line per delivery, appended (atomic for short writes), tagged with this process.
    if (options.senderLog) appendFileSync(options.senderLog, `${process.pid} ${delivery.installId}\n`);
    return { ok: true };
  },
};
async function main(): Promise<void> {
  const store = new Store(options.dataDir);
  const app = await buildApp({
    store,
    sender,
    runner: { pollMs: 20, leaseMs: options.leaseMs ?? 2_000, backoffMs: 50 },
    outbound: { allowLoopback: true, ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs, connectTimeoutMs: options.requestTimeoutMs } : {}) },
    rateLimitPerMinute: 1_000_000,
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  process.stdout.write(`listening on ${address}\n`);
  process.on("SIGTERM", () => {
    void app.close().then(() => {
      store.close();
      process.exit(0);
    });
  });
}

// The .ts files run as CommonJS under tsx here, which has no top-level await.
void main();
