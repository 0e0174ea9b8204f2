import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Store } from "../../service/store.ts";
import { until } from "../helpers/until.ts";

let dataDir: string;
let store: Store;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "pushplane-store-"));
  store = new Store(dataDir);
});
afterEach(() => {
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const autocheckpointPages = () => (store.db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint;

/** About 8 MB of new pages in the write-ahead log, in one commit. */
function writePages(): void {
  store.db.exec("CREATE TABLE IF NOT EXISTS ballast (payload BLOB)");
  store.transaction(() => {
    const insert = store.db.prepare("INSERT INTO ballast (payload) VALUES (randomblob(4000))");
    for (let i = 0; i < 2_000; i++) insert.run();
  });
}

describe("write-ahead log checkpoints", () => {
  it("happen on a thread of their own, never inside a commit on the event loop", async () => {
    store.startCheckpoints(20);
    expect(autocheckpointPages()).toBe(0);
    const before = statSync(store.path).size;
    writePages();
    // Only a checkpoint copies pages from the log into the database file.
    await until(async () => statSync(store.path).size, (size) => size > before + 6_000_000, 10_000);
  });

  it("go back into commits when the thread fails, so the log cannot grow without bound", async () => {
    store.startCheckpoints(20);
    await (store as unknown as { checkpointer: { terminate(): Promise<number> } }).checkpointer.terminate();
    await until(async () => autocheckpointPages(), (pages) => pages === 1000, 5_000);
  });
});
