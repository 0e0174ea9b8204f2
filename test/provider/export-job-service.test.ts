// ExportJob against a real service: a users-by-id job reads back the users the service holds, so an
// erasure that took one out shows as drift on refresh instead of being undone by the next up; a
// Braze series job reaches the service with the service's option names.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportJobProvider } from "../../provider/export-job.ts";
import { configure } from "../../provider/settings.ts";
import { startService, type TestService } from "../helpers/service.ts";

let service: TestService;
const key = { owner: "acme", app: "demo" };
const sas = "http://127.0.0.1:10000/devstoreaccount1/exports?sv=2024-08-04&se=2099-01-01T00%3A00%3A00Z&sr=c&sp=cw&sig=c2ln";

beforeAll(async () => {
  service = await startService({ runner: { concurrency: 0 } });
  service.services.devices.upsert(key, [{ install_id: "0b9a3b8e-2a59-4e0e-9a4c-2f1f5f7f0a01", user_id: "ada", properties: {}, custom_properties: {} }] as never);
  const values: Record<string, string> = { "pushplane:endpoint": await service.listen(), "pushplane:apiToken": service.token };
  configure({ get: (k) => values[k], require: (k) => values[k]! });
}, 60_000);
afterAll(async () => {
  await service?.close();
});

describe("ExportJob read of a users-by-id job", () => {
  it("shows the users the service holds after an erasure took one out", async () => {
    const inputs = { ...key, kind: "users_by_id_export" as const, schedule: "0 3 1 1 *", containerSasUrl: sas, prefix: "", usersById: { externalIds: ["ada", "bob"], format: "zip" as const } };
    const created = await exportJobProvider.create(inputs);
    await service.services.dataSubjectRequests.eraseStoreData(key, { user_id: "ada" });
    const read = await exportJobProvider.read!(created.id, created.outs!);
    expect(read.props?.usersById?.externalIds).toEqual(["bob"]);
  });
});

describe("ExportJob of a Braze series", () => {
  it("creates the job with the service's option names and defaults", async () => {
    const inputs = { ...key, kind: "braze_series_export" as const, schedule: "0 * * * *", containerSasUrl: sas, prefix: "", brazeSeries: { series: "sessions" as const, length: 24, unit: "hour" as const, segmentId: "vips", format: "csv" as const } };
    const created = await exportJobProvider.create(inputs);
    const jobId = created.id.split("/")[2]!;
    expect(service.services.repositories.exportJobs.find(jobId)?.options).toBe(JSON.stringify({ series: "sessions", length: 24, unit: "hour", segment_id: "vips", format: "csv" }));
  });
});
