// StorageContainer at preview against Azurite: a create over a container that exists is refused
// (naming adopt) or said to adopt it, with what in it changes; no storage account fails `check`.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { BlobServiceClient } from "@azure/storage-blob";
import { configure } from "../../provider/settings.ts";
import { storageContainerProvider } from "../../provider/storage-container.ts";
import { startAzurite, type Azurite } from "../helpers/azurite.ts";

let azurite: Azurite;
const configWith = (values: Record<string, string>) => configure({ get: (k) => values[k], require: (k) => values[k]! });
const base = { "pushplane:endpoint": "http://127.0.0.1:9", "pushplane:apiToken": "pp_x", "pushplane:owner": "acme", "pushplane:app": "demo" };

beforeAll(async () => {
  azurite = await startAzurite();
  const existing = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("taken");
  await existing.create({ metadata: { team: "old", pushplaneretentiondays: "7" } });
  configWith({ ...base, "pushplane:storageConnectionString": azurite.connectionString });
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

/** What `check` said on the engine's output (the provider's stderr). */
async function checkSaying(olds: Record<string, unknown>, news: Record<string, unknown>) {
  const said = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    const result = await storageContainerProvider.check(olds, news);
    return { result, lines: said.mock.calls.map((call) => String(call[0])) };
  } finally {
    said.mockRestore();
  }
}

describe("StorageContainer create over an existing container, at preview", () => {
  it("is refused without adopt, naming the container, the account and the input to set", async () => {
    const { result } = await checkSaying({}, { name: "taken" });
    expect(result.failures).toEqual([{ property: "adopt", reason: expect.stringContaining("container 'taken' in account 'devstoreaccount1' already exists; to manage it, set adopt: true") }]);
  });

  it("with adopt, says it adopts the existing container and what in it changes", async () => {
    const { result, lines } = await checkSaying({}, { name: "taken", adopt: true, retentionDays: 14, metadata: { team: "crm" } });
    expect(result.failures).toBeUndefined();
    expect(lines).toContain(`container 'taken' in account 'devstoreaccount1': adopts the container that exists (not a new one): retentionDays 7 → 14; metadata {"team":"old"} → {"team":"crm"}`);
  });

  it("says nothing for a new container, nor for one the stack already manages", async () => {
    expect(await checkSaying({}, { name: "brand-new" })).toMatchObject({ result: { inputs: { name: "brand-new" } }, lines: [] });
    expect(await checkSaying({ name: "taken" }, { name: "taken" })).toMatchObject({ result: { inputs: { name: "taken" } }, lines: [] });
  });

  it("fails at preview when no storage account is configured, naming the input and the config key", async () => {
    configWith(base);
    try {
      const { result } = await checkSaying({}, { name: "taken" });
      expect(result.failures).toEqual([{ property: "storageConnectionString", reason: expect.stringContaining("pulumi config set --secret pushplane:storageConnectionString") }]);
    } finally {
      configWith({ ...base, "pushplane:storageConnectionString": azurite.connectionString });
    }
  });
});

describe("StorageContainer create that fails after the container is made", () => {
  it("removes the container it made, so the next up creates it again instead of asking for adopt", async () => {
    // The service (127.0.0.1:9) does not answer: registering the retention fails after the container exists.
    const inputs = { owner: "acme", app: "demo", name: "half-made", retentionDays: 30, metadata: {}, adopt: false, storageConnectionString: azurite.connectionString };
    await expect(storageContainerProvider.create(inputs)).rejects.toThrow();
    expect(await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("half-made").exists()).toBe(false);
  });
});
