// Benchmark: the store part of erasing one data subject in an app of 1 M devices, 10,000
// notifications (10 deliveries each) and 200 audiences: by user id (index lookups) and by an email
// custom property (a scan of the app's rows on a worker thread, then the transaction). p50 / p95 of
// 20 subjects each. Target (issue 10): store part < 100 ms p50. The blob part is not built yet.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApp } from "../service/app.ts";
import { Store } from "../service/store.ts";
import { generateApp } from "../service/synthetic.ts";

const SUBJECTS = 20;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]!;

export async function runErasureBench(devices = 1_000_000): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), "pushplane-bench-erasure-"));
  const store = new Store(dataDir);
  const app = await buildApp({ store, logger: false, rateLimitPerMinute: 1_000_000 });
  try {
    await app.ready();
    const { services } = app;
    const key = { owner: "bench", app: "gdpr" };
    const loadStarted = performance.now();
    generateApp(services.devices, key, { devices, eventsPerDevice: 0, seed: 11 });
    // The subjects: two devices each, with an email custom property, and a few events.
    const subjects = Array.from({ length: 2 * SUBJECTS }, (_, i) => ({ userId: `subject-${i}`, email: `subject-${i}@example.org` }));
    services.devices.upsert(
      key,
      subjects.flatMap(({ userId, email }) => [0, 1].map(() => ({ install_id: randomUUID(), user_id: userId, properties: { carrierCountry: "FR" }, custom_properties: { email } }))),
    );
    const appId = store.appId(key);
    const deviceIds = (store.db.prepare("SELECT id, install_id FROM devices WHERE app_id = ? ORDER BY id DESC LIMIT 20000").all(appId) as { id: number; install_id: string }[]);
    store.db.exec("BEGIN");
    const notification = store.db.prepare("INSERT INTO notifications (id, app_id, name, content, state, send_time) VALUES (?, ?, ?, ?, 'Completed', ?)");
    const delivery = store.db.prepare("INSERT INTO notification_deliveries (notification_id, device_id, install_id, outcome) VALUES (?, ?, ?, 'Success')");
    for (let n = 0; n < 10_000; n++) {
      const id = randomUUID();
      notification.run(id, appId, `campaign ${n}`, JSON.stringify({ name: `campaign ${n}`, body: n % 500 === 0 ? `Hello ${subjects[n % subjects.length]!.email}` : "Spring sale" }), Date.now() - n * 60_000);
      for (let d = 0; d < 10; d++) {
        const target = deviceIds[(n * 10 + d) % deviceIds.length]!;
        delivery.run(id, target.id, target.install_id);
      }
    }
    store.db.exec("COMMIT");
    // Audiences written directly (their counts are not what is measured); five name a subject.
    for (let a = 0; a < 200; a++) {
      const definition = a < 5 ? `email eq '${subjects[a]!.email}'` : `osApiLevel ge ${20 + (a % 15)} and carrierCountry eq 'US'`;
      services.repositories.audiences.upsert(key, { name: `a-${a}`, definition, description: undefined, enabled: true, customProperties: a < 5 ? { email: "string" } : {} });
    }
    await services.idle(1_800_000);
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    const time = async (subject: Parameters<typeof services.dataSubjectRequests.eraseStoreData>[1]) => {
      const started = performance.now();
      const receipt = await services.dataSubjectRequests.eraseStoreData(key, subject);
      if (receipt.devices.removed !== 2) throw new Error(`expected 2 devices erased, got ${receipt.devices.removed}`);
      return performance.now() - started;
    };
    const byUserId: number[] = [];
    const byEmail: number[] = [];
    for (let i = 0; i < SUBJECTS; i++) byUserId.push(await time({ user_id: subjects[i]!.userId }));
    for (let i = SUBJECTS; i < 2 * SUBJECTS; i++) byEmail.push(await time({ custom_properties: { email: subjects[i]!.email } }));
    const row = (label: string, values: number[]) => `| ${label} | ${percentile(values, 0.5).toFixed(1)} | ${percentile(values, 0.95).toFixed(1)} | ${(percentile(values, 0.5) / 100).toFixed(2)}× |`;
    return [
      `${devices.toLocaleString("en-US")} devices, 10,000 notifications (100,000 deliveries), 200 audiences; set up in ${loadSeconds.toFixed(1)} s.`,
      "",
      "| erasure of one subject (2 devices), store part | p50 ms | p95 ms | p50 / 100 ms target |",
      "|---|---:|---:|---:|",
      row("by user id", byUserId),
      row("by an email custom property (scan on a worker)", byEmail),
    ];
  } finally {
    await app.close();
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
