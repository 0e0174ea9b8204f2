// ExportConfiguration against a real service: check and diff, a configuration whose storage cannot be
// written fails `create` with the reason and leaves nothing behind, disable/enable round trip.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportConfigurationProvider, type ExportConfigurationOutputs } from "../../provider/export-configuration.ts";
import { configure } from "../../provider/settings.ts";
import { startAzurite, type Azurite } from "../helpers/azurite.ts";
import { startService, type TestService } from "../helpers/service.ts";

let service: TestService;
let azurite: Azurite;
const UNREACHABLE = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;";
const configWith = (values: Record<string, string>) => configure({ get: (k) => values[k], require: (k) => values[k]! });

beforeAll(async () => {
  [service, azurite] = await Promise.all([startService(), startAzurite()]);
  configWith({ "pushplane:endpoint": await service.listen(), "pushplane:apiToken": service.token, "pushplane:owner": "acme", "pushplane:app": "demo" });
}, 60_000);
afterAll(async () => {
  await service?.close();
  await azurite?.stop();
});

describe("ExportConfiguration check and diff", () => {
  it("needs a storage account from the resource or the stack, and never echoes one", async () => {
    expect((await exportConfigurationProvider.check({}, {})).failures).toEqual([{ property: "storageConnectionString", reason: expect.stringContaining("no storage account") }]);
    const bad = await exportConfigurationProvider.check({}, { storageConnectionString: "AccountKey=s3cret" });
    expect(bad.failures?.[0]?.reason).toContain("storageConnectionString: must be a storage account connection string");
    expect(JSON.stringify(bad)).not.toContain("s3cret");
  });
  it("defaults to enabled, no extra entities; sorts and dedupes entities", async () => {
    expect((await exportConfigurationProvider.check({}, { storageConnectionString: UNREACHABLE, exportEntities: ["errors", "crashes", "errors"] })).inputs).toEqual({
      owner: "acme",
      app: "demo",
      enabled: true,
      exportEntities: ["crashes", "errors"],
      storageConnectionString: UNREACHABLE,
    });
  });
  const olds: ExportConfigurationOutputs = { owner: "acme", app: "demo", enabled: true, exportEntities: [], configurationId: "c", state: "Enabled", stateInfo: null, lastRunTime: null };
  const news = { owner: "acme", app: "demo", enabled: true, exportEntities: [] };
  it("no change when nothing moved; disabling updates in place; another app replaces", async () => {
    expect(await exportConfigurationProvider.diff("id", olds, news)).toMatchObject({ changes: false });
    expect(await exportConfigurationProvider.diff("id", olds, { ...news, enabled: false })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect((await exportConfigurationProvider.diff("id", olds, { ...news, app: "other" })).replaces).toEqual(["app"]);
  });
  it("an Invalid configuration is tried again on the next up", async () => {
    expect(await exportConfigurationProvider.diff("id", { ...olds, state: "Invalid" }, news)).toMatchObject({ changes: true, replaces: [] });
  });
});

describe("ExportConfiguration against the service", () => {
  const count = () => (service.store.db.prepare("SELECT count(*) AS n FROM export_configurations").get() as { n: number }).n;

  it("fails create with the storage's reason when the account cannot be written, leaving nothing", async () => {
    const { inputs } = await exportConfigurationProvider.check({}, { storageConnectionString: UNREACHABLE });
    await expect(exportConfigurationProvider.create(inputs!)).rejects.toThrow(/the continuous export cannot start: cannot write to the storage account: (ECONNREFUSED|REQUEST_SEND_ERROR)/);
    expect(count()).toBe(0);
  });

  it("creates Enabled, reads back, disables and enables in place, deletes", { timeout: 60_000 }, async () => {
    const { inputs } = await exportConfigurationProvider.check({}, { storageConnectionString: azurite.connectionString });
    const created = await exportConfigurationProvider.create(inputs!);
    const { id } = created;
    const outs = created.outs!;
    expect(outs).toMatchObject({ state: "Enabled", stateInfo: null, lastRunTime: expect.any(String) });
    // The service answers no connection string; state keeps the one given (secret on the program side).
    expect(JSON.stringify(await service.app.inject({ method: "GET", url: `/v0.1/apps/acme/demo/export_configurations/${outs.configurationId}`, headers: { "x-api-token": service.token } }).then((r) => r.json()))).not.toContain("AccountKey");

    const disabled = await exportConfigurationProvider.update!(id, outs, { ...inputs!, enabled: false });
    expect(disabled.outs).toMatchObject({ state: "Disabled", enabled: false });
    const read = await exportConfigurationProvider.read!(id, disabled.outs as ExportConfigurationOutputs);
    expect(read.props).toMatchObject({ enabled: false, state: "Disabled" });
    const enabled = await exportConfigurationProvider.update!(id, disabled.outs as ExportConfigurationOutputs, inputs!);
    expect(enabled.outs).toMatchObject({ state: "Enabled", enabled: true });

    await exportConfigurationProvider.delete(id, enabled.outs as ExportConfigurationOutputs);
    expect(count()).toBe(0);
    expect(await exportConfigurationProvider.read!(id, enabled.outs as ExportConfigurationOutputs)).toEqual({});
    // Deleting one already gone succeeds.
    await exportConfigurationProvider.delete(id, enabled.outs as ExportConfigurationOutputs);
  });
});
