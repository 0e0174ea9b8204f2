import { beforeAll, describe, expect, it } from "vitest";
import { CONTAINER_GRANT_PERMISSIONS } from "../../domain/index.ts";
import { containerSasTokenProvider, type ContainerSasTokenOutputs } from "../../provider/container-sas-token.ts";
import { dataExportTokenProvider } from "../../provider/data-export-token.ts";
import { exportJobProvider } from "../../provider/export-job.ts";
import { configure } from "../../provider/settings.ts";
import { storageContainerProvider } from "../../provider/storage-container.ts";
import { isUnknown } from "../../provider/unknown.ts";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const STACK_CONFIG: Record<string, string> = {
    "pushplane:endpoint": "http://127.0.0.1:9",
    "pushplane:apiToken": "pp_x",
    "pushplane:owner": "acme",
    "pushplane:app": "demo",
    // An account that cannot answer: a preview says so and goes on (storage-adopt.test.ts has a real one).
    "pushplane:storageConnectionString": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;",
};
const configureWith = (values: Record<string, string>) => configure({ get: (k) => values[k], require: (k) => values[k]! });
beforeAll(() => configureWith(STACK_CONFIG));

describe("StorageContainer check", () => {
  it("defaults retention to 30 days", async () => {
    expect(await storageContainerProvider.check({}, { name: "exports" })).toEqual({ inputs: { owner: "acme", app: "demo", name: "exports", retentionDays: 30, metadata: {}, adopt: false } });
  });
  it.each([
    [{ name: "Exports" }, "name: must be 3–63 lowercase letters"],
    [{ name: "ab" }, "name: must be 3–63"],
    [{ name: "a--b" }, "name: must be 3–63"],
    [{ name: "exports", retentionDays: 0 }, "retentionDays: Too small"],
    [{ name: "exports", storageConnectionString: "AccountKey=s3cret" }, "storageConnectionString: must be a storage account connection string"],
    [{ name: "exports", metadata: { Team: "crm" } }, "metadata.Team: metadata names must be 1–64 lowercase letters"],
    [{ name: "exports", metadata: { team: "crm ü" } }, "metadata.team: metadata values must be printable ASCII"],
    [{ name: "exports", metadata: { team: " crm" } }, "must not start or end with spaces"],
    [{ name: "exports", metadata: { pushplaneretentiondays: "1" } }, "'pushplaneretentiondays' is pushplane's own: set retentionDays instead"],
    [{ name: "exports", metadata: { a: "x".repeat(8192) } }, "metadata: metadata must be at most 8 KiB in all"],
  ])("%j → %s", async (news, reason) => {
    expect((await storageContainerProvider.check({}, news)).failures?.[0]?.reason).toContain(reason);
  });
});

describe("StorageContainer diff", () => {
  const outputs = {
    owner: "acme",
    app: "demo",
    name: "exports",
    retentionDays: 30,
    metadata: {},
    adopt: false,
    account: "devstoreaccount1",
    url: "http://127.0.0.1/devstoreaccount1/exports",
    publicAccess: "none",
    retentionGrantRenewAfter: new Date(Date.now() + 86_400_000).toISOString(),
    retentionGrantPermissions: CONTAINER_GRANT_PERMISSIONS,
  };
  const inputs = { owner: "acme", app: "demo", name: "exports", retentionDays: 30, metadata: {}, adopt: false };
  it("no change while the retention grant is fresh", async () => expect(await storageContainerProvider.diff("id", outputs, inputs)).toMatchObject({ changes: false }));
  it("renews the retention grant in place when due", async () =>
    expect(await storageContainerProvider.diff("id", { ...outputs, retentionGrantRenewAfter: new Date(Date.now() - 1).toISOString() }, inputs)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false }));
  it("renews a grant from a version that granted less (list+delete only: erasures could not rewrite exported blobs)", async () => {
    const { retentionGrantPermissions: _, ...older } = outputs;
    expect(await storageContainerProvider.diff("id", older, inputs)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
  });
  it("closes a container opened to the public", async () => expect(await storageContainerProvider.diff("id", { ...outputs, publicAccess: "container" }, inputs)).toMatchObject({ changes: true, replaces: [] }));
  it("metadata changes update in place, whatever the key order; state from before metadata reads as none", async () => {
    const tagged = { ...outputs, metadata: { team: "crm", classification: "personal" } };
    expect(await storageContainerProvider.diff("id", tagged, { ...inputs, metadata: { classification: "personal", team: "crm" } })).toMatchObject({ changes: false });
    expect(await storageContainerProvider.diff("id", tagged, { ...inputs, metadata: { team: "growth", classification: "personal" } })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    const { metadata: _none, ...older } = outputs;
    expect(await storageContainerProvider.diff("id", older as typeof outputs, inputs)).toMatchObject({ changes: false });
  });
  it("a new name is a new container", async () => expect((await storageContainerProvider.diff("id", outputs, { ...inputs, name: "other" })).replaces).toEqual(["name"]));

  // The account a program passes in: another account is another container, a rotated key is not.
  const account = (name: string, key: string) => `DefaultEndpointsProtocol=https;AccountName=${name};AccountKey=${Buffer.from(key).toString("base64")};EndpointSuffix=core.windows.net`;
  const inAccount = { ...outputs, account: "exportsa", storageConnectionString: account("exportsa", "key1") };
  it("a rotated account key updates in place; another account replaces; an account still being created replaces", async () => {
    expect(await storageContainerProvider.diff("id", inAccount, { ...inputs, storageConnectionString: account("exportsa", "key2") })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect((await storageContainerProvider.diff("id", inAccount, { ...inputs, storageConnectionString: account("exportsb", "key1") })).replaces).toEqual(["storageConnectionString"]);
    expect((await storageContainerProvider.diff("id", inAccount, { ...inputs, storageConnectionString: UNKNOWN })).replaces).toEqual(["storageConnectionString"]);
    expect(await storageContainerProvider.diff("id", inAccount, { ...inputs, storageConnectionString: account("exportsa", "key1") })).toMatchObject({ changes: false });
  });
  it("accepts an account connection string not known until up, and never echoes one", async () => {
    expect((await storageContainerProvider.check({}, { name: "exports", storageConnectionString: UNKNOWN })).failures).toBeUndefined();
    const { failures } = await storageContainerProvider.check({}, { name: "exports", storageConnectionString: "AccountKey=s3cret" });
    expect(JSON.stringify(failures)).not.toContain("s3cret");
  });
});

describe("ContainerSasToken check and rotation", () => {
  it("normalizes permissions and applies defaults", async () => {
    expect(await containerSasTokenProvider.check({}, { containerName: "exports", permissions: "wc" })).toEqual({
      inputs: { containerName: "exports", permissions: "cw", lifetimeDays: 7, rotationDays: 2 },
    });
  });
  it.each([
    [{ permissions: "cwx" }, "permissions", "must be a set of SAS permission letters"],
    [{ lifetimeDays: 0 }, "lifetimeDays", "Too small"],
    [{ lifetimeDays: 3, rotationDays: 3 }, "rotationDays", "rotationDays must be shorter than lifetimeDays"],
  ])("%j fails on %s", async (change, property, reason) => {
    const { failures } = await containerSasTokenProvider.check({}, { containerName: "exports", ...change });
    expect(failures).toEqual([{ property, reason: expect.stringContaining(reason) }]);
  });
  it("leaves how much and how long to the policy pack: Azure grants any letters for any lifetime", async () => {
    const { failures } = await containerSasTokenProvider.check({}, { containerName: "exports", permissions: "racwdl", lifetimeDays: 365 });
    expect(failures).toBeUndefined();
  });
  it("honours the deprecated stack config bounds while a stack still sets them", async () => {
    configureWith({ ...STACK_CONFIG, "pushplane:sasAllowedPermissions": "acwl", "pushplane:sasMaxLifetimeDays": "14" });
    try {
      const check = async (change: object) => (await containerSasTokenProvider.check({}, { containerName: "exports", ...change })).failures;
      expect(await check({ permissions: "rwd" })).toEqual([
        { property: "permissions", reason: expect.stringContaining("read (r), delete (d) exceeds what tokens may grant ('acwl', pushplane:sasAllowedPermissions)") },
      ]);
      expect(await check({ lifetimeDays: 15 })).toEqual([{ property: "lifetimeDays", reason: "lifetimeDays must be at most 14 days (got 15; pushplane:sasMaxLifetimeDays)" }]);
      expect(await check({ permissions: "acwl", lifetimeDays: 14 })).toBeUndefined();
    } finally {
      configureWith(STACK_CONFIG);
    }
  });
  it("accepts a container name not known until up", async () => {
    expect(isUnknown(UNKNOWN)).toBe(true);
    expect((await containerSasTokenProvider.check({}, { containerName: UNKNOWN })).failures).toBeUndefined();
  });

  const token = (renewAfter: number): ContainerSasTokenOutputs => ({
    containerName: "exports",
    permissions: "cw",
    lifetimeDays: 7,
    rotationDays: 2,
    sasUrl: "https://a.blob.core.windows.net/exports?sig=x",
    expiresOn: new Date(renewAfter + 2 * 86_400_000).toISOString(),
    renewAfter: new Date(renewAfter).toISOString(),
  });
  const inputs = { containerName: "exports", permissions: "cw", lifetimeDays: 7, rotationDays: 2 };

  it("leaves a token alone before its renewal time", async () => {
    expect(await containerSasTokenProvider.diff("id", token(Date.now() + 60_000), inputs)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  });
  it("replaces a token inside its rotation window, creating the new one first", async () => {
    expect(await containerSasTokenProvider.diff("id", token(Date.now() - 1), inputs)).toEqual({ changes: true, replaces: ["renewAfter"], deleteBeforeReplace: false });
  });
  it("replaces a token whose permissions change", async () => {
    expect((await containerSasTokenProvider.diff("id", token(Date.now() + 60_000), { ...inputs, permissions: "acw" })).replaces).toEqual(["permissions"]);
  });
  it("replaces a token when the account key it was signed with changes", async () => {
    const signed = { ...token(Date.now() + 60_000), storageConnectionString: "AccountName=a;AccountKey=b25l" };
    expect((await containerSasTokenProvider.diff("id", signed, { ...inputs, storageConnectionString: "AccountName=a;AccountKey=dHdv" })).replaces).toEqual(["storageConnectionString"]);
  });
  it("reads an expired token as gone", async () => {
    expect(await containerSasTokenProvider.read!("id", token(Date.now() - 3 * 86_400_000))).toEqual({});
  });
});

describe("ExportJob check", () => {
  const sas = "https://a.blob.core.windows.net/exports?sp=cw&sig=secret-signature";
  it("fills owner and app; a schedule is optional", async () => {
    expect(await exportJobProvider.check({}, { kind: "device_export", containerSasUrl: sas })).toEqual({
      inputs: { owner: "acme", app: "demo", kind: "device_export", containerSasUrl: sas, prefix: "" },
    });
  });
  it.each([
    [{ schedule: "every night" }, "schedule", "schedule: 'every night' has 2 fields; a schedule has 5"],
    [{ schedule: "0 0 30 2 *" }, "schedule", "schedule: '0 0 30 2 *' never fires"],
    [{ schedule: "0 61 * * *" }, "schedule", "schedule: '0 61 * * *' is not a cron expression"],
    [{ kind: "everything" }, "kind", "kind: Invalid option: expected one of \"device_export\"|\"segment_export\"|\"users_by_id_export\"|\"raw_event_export\"|\"broadcast_metrics_export\""],
    [{ prefix: "no-slash" }, "prefix", "prefix: must be empty or path segments ending with '/'"],
    [{ containerSasUrl: "not a url" }, "containerSasUrl", "containerSasUrl: must be a container SAS URL"],
  ])("%j fails on %s, never echoing the SAS", async (change, property, reason) => {
    const { failures } = await exportJobProvider.check({}, { kind: "device_export", containerSasUrl: sas, ...change });
    expect(failures).toEqual([{ property, reason: expect.stringContaining(reason) }]);
    expect(JSON.stringify(failures)).not.toContain("secret-signature");
  });
  it("a segment export needs a segment, and only it takes one", async () => {
    expect((await exportJobProvider.check({}, { kind: "segment_export", containerSasUrl: sas })).failures?.[0]?.reason).toContain("segment is required for a segment_export");
    expect((await exportJobProvider.check({}, { kind: "device_export", containerSasUrl: sas, segment: { segmentId: "a" } })).failures?.[0]?.reason).toBe("segment applies to segment_export only, not device_export");
    expect((await exportJobProvider.check({}, { kind: "segment_export", containerSasUrl: sas, segment: { segmentId: "a" } })).inputs?.segment).toEqual({ segmentId: "a", format: "zip" });
  });

  it("a users-by-id export needs its ids, at most the platform's 50", async () => {
    const check = async (usersById?: object) => (await exportJobProvider.check({}, { kind: "users_by_id_export", containerSasUrl: sas, ...(usersById ? { usersById } : {}) }));
    expect((await check()).failures?.[0]?.reason).toContain("usersById is required for a users_by_id_export: which users to export ({ externalIds: [...] })");
    expect((await check({ externalIds: ["u1", "u2"] })).inputs?.usersById).toEqual({ externalIds: ["u1", "u2"], format: "zip" });
    const tooMany = await check({ externalIds: Array.from({ length: 51 }, (_, i) => `u${i}`) });
    expect(tooMany.failures).toEqual([{ property: "usersById", reason: "usersById.externalIds: at most 50 external ids per users export request (seeds: Braze export)" }]);
  });

  it("a raw event export job defaults to the last day and takes at most 7", async () => {
    expect((await exportJobProvider.check({}, { kind: "raw_event_export", containerSasUrl: sas })).inputs?.rawEvents).toEqual({ windowDays: 1 });
    expect((await exportJobProvider.check({}, { kind: "raw_event_export", containerSasUrl: sas, rawEvents: { windowDays: 8 } })).failures?.[0]?.reason).toContain("rawEvents.windowDays");
  });

  it("a broadcast-metrics job needs a bundle id, reports 1–30 days, and names a channel by its audience", async () => {
    const check = (broadcastMetrics?: object) => exportJobProvider.check({}, { kind: "broadcast_metrics_export", containerSasUrl: sas, ...(broadcastMetrics ? { broadcastMetrics } : {}) });
    expect((await check()).failures?.[0]?.reason).toContain("broadcastMetrics is required for a broadcast_metrics_export");
    expect((await check({ bundleId: "com.acme.demo" })).inputs?.broadcastMetrics).toEqual({ bundleId: "com.acme.demo", dataset: "broadcast_application_metrics", windowDays: 1 });
    expect((await check({ bundleId: "com.acme.demo", windowDays: 31 })).failures).toEqual([{ property: "broadcastMetrics", reason: expect.stringMatching(/^broadcastMetrics\.windowDays: .*30/) }]);
    expect((await check({ bundleId: "com.acme.demo", dataset: "broadcast_channel_metrics" })).failures?.[0]?.reason).toBe(
      "broadcastMetrics.audience: is required for broadcast_channel_metrics (the channel's audience name)",
    );
    expect((await check({ bundleId: "com.acme.demo", audience: "vips" })).failures?.[0]?.reason).toBe("broadcastMetrics.audience: applies to broadcast_channel_metrics only");
    expect((await exportJobProvider.check({}, { kind: "device_export", containerSasUrl: sas, broadcastMetrics: { bundleId: "b" } })).failures?.[0]?.reason).toBe(
      "broadcastMetrics applies to broadcast_metrics_export only, not device_export",
    );
  });

  it("a Braze series job names its series, the parameters that series takes (service's rules, program's names), and 1–100 units", async () => {
    const check = (brazeSeries?: object) => exportJobProvider.check({}, { kind: "braze_series_export", containerSasUrl: sas, ...(brazeSeries ? { brazeSeries } : {}) });
    expect((await check()).failures?.[0]?.reason).toContain("brazeSeries is required for a braze_series_export");
    expect((await check({ series: "dau" })).inputs?.brazeSeries).toEqual({ series: "dau", length: 1, format: "csv" });
    expect((await check({ series: "custom_event" })).failures).toEqual([{ property: "brazeSeries", reason: "brazeSeries.event: required for the custom_event series" }]);
    expect((await check({ series: "mau", segmentId: "vips" })).failures).toEqual([
      { property: "brazeSeries", reason: "brazeSeries.segmentId: the mau series takes no segmentId (only sessions, custom_event, segment_size do)" },
    ]);
    expect((await check({ series: "sessions", length: 101 })).failures?.[0]?.reason).toMatch(/^brazeSeries\.length: must be between 1 and 100/);
    expect((await check({ series: "campaign", campaignId: "c-1", format: "jsonl" })).failures).toBeUndefined();
    expect((await exportJobProvider.check({}, { kind: "device_export", containerSasUrl: sas, brazeSeries: { series: "dau" } })).failures?.[0]?.reason).toBe(
      "brazeSeries applies to braze_series_export only, not device_export",
    );
  });

  it("waits for a SAS URL not known until up", async () => {
    expect((await exportJobProvider.check({}, { kind: "device_export", containerSasUrl: UNKNOWN })).failures).toBeUndefined();
  });
});

describe("DataExportToken check", () => {
  const valid = { name: "metrics", bundleId: "com.example.app", dataset: "broadcast_channel_metrics" as const, expiresAt: new Date(Date.now() + 90 * 86_400_000).toISOString() };
  it("accepts an expiry within six months", async () => {
    expect((await dataExportTokenProvider.check({}, valid)).inputs).toMatchObject({ owner: "acme", app: "demo", description: "" });
  });
  it("refuses one beyond six months, naming the limit and its source", async () => {
    const { failures } = await dataExportTokenProvider.check({}, { ...valid, expiresAt: new Date(Date.now() + 200 * 86_400_000).toISOString() });
    expect(failures).toEqual([{ property: "expiresAt", reason: expect.stringMatching(/^expiresAt must be at most 6 months ahead.*seeds: CloudKit broadcast-metrics export\)$/) }]);
  });
  it("keeps an existing token's expiry valid as time passes", async () => {
    const past = new Date(Date.now() - 1000).toISOString();
    expect((await dataExportTokenProvider.check({ expiresAt: past }, { ...valid, expiresAt: past })).failures).toBeUndefined();
  });
  it("defaults to 90 days from creation; refuses a lifetime past six months or both ways at once", async () => {
    expect((await dataExportTokenProvider.check({}, { ...valid, expiresAt: undefined })).inputs?.lifetimeDays).toBe(90);
    expect((await dataExportTokenProvider.check({}, { ...valid, expiresAt: undefined, lifetimeDays: 200 })).failures?.[0]?.reason).toContain("lifetimeDays of 200: the expiry must be at most 6 months ahead");
    expect((await dataExportTokenProvider.check({}, { ...valid, lifetimeDays: 10 })).failures?.[0]?.reason).toBe("set expiresAt or lifetimeDays, not both");
  });

  it("replaces on any change", async () => {
    const outputs = { ...valid, owner: "acme", app: "demo", description: "", tokenId: "t", token: "dxt_x", expiresOn: valid.expiresAt } as const;
    expect((await dataExportTokenProvider.diff("id", outputs, { ...outputs, dataset: "broadcast_application_metrics" })).replaces).toEqual(["dataset"]);
  });
});
