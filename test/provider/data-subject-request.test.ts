// DataSubjectRequest against a real service: check refuses what the service would (access without a
// container, no one named, too many identifiers); create waits for the erasure and returns its receipt; the
// identifiers are secret inputs; delete keeps the request in the service.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataSubjectRequestResource, secretNames } from "../../domain/index.ts";
import { dataSubjectRequestProvider } from "../../provider/data-subject-request.ts";
import { configure } from "../../provider/settings.ts";
import { startService, type TestService } from "../helpers/service.ts";

let service: TestService;
const key = { owner: "acme", app: "demo" };

beforeAll(async () => {
  service = await startService();
  service.services.devices.upsert(key, [
    { install_id: randomUUID(), user_id: "grace", properties: { carrierCountry: "US" }, custom_properties: { email: "grace@example.org" } },
    { install_id: randomUUID(), user_id: "alan", properties: { carrierCountry: "GB" }, custom_properties: { email: "alan@example.org" } },
  ]);
  const values: Record<string, string> = { "pushplane:endpoint": await service.listen(), "pushplane:apiToken": service.token, "pushplane:owner": "acme", "pushplane:app": "demo" };
  configure({ get: (k) => values[k], require: (k) => values[k]! });
}, 60_000);
afterAll(async () => {
  await service?.close();
});

describe("DataSubjectRequest", () => {
  it("keeps the subject's identifiers secret", () => {
    expect(secretNames(dataSubjectRequestResource)).toEqual(["userId", "installIds", "customProperties", "containerSasUrl"]);
  });

  it.each([
    [{ kind: "access", userId: "grace" }, "containerSasUrl", "an access request writes its document into a container"],
    [{ kind: "erasure", userId: "grace", containerSasUrl: "https://a.blob.core.windows.net/c?sig=x" }, "containerSasUrl", "an erasure takes no containerSasUrl"],
    [{ kind: "erasure" }, "userId", "the request names no one"],
    [{ kind: "erasure", installIds: ["not-a-uuid"] }, "installIds", "installIds.0: must be an install id (a UUID)"],
    [{ kind: "erasure", installIds: Array.from({ length: 51 }, () => randomUUID()) }, "installIds", "must be at most 50"],
  ])("check refuses %j", async (news, property, reason) => {
    const { failures } = await dataSubjectRequestProvider.check({}, news);
    expect(failures).toEqual([{ property, reason: expect.stringContaining(reason) }]);
  });

  it("create carries out the erasure and answers the receipt; delete keeps the request in the service", async () => {
    const { inputs } = await dataSubjectRequestProvider.check({}, { kind: "erasure", userId: "grace", customProperties: { email: "grace@example.org" } });
    const created = await dataSubjectRequestProvider.create(inputs!);
    expect(created.outs).toMatchObject({ state: "Completed", receipt: { devices: { found: 1, removed: 1 } }, subjectHashes: [{ type: "user_id" }, { type: "custom_property:email" }] });
    expect(JSON.stringify(created.outs!.subjectHashes)).not.toContain("grace");
    expect(created.id).toBe(`acme/demo/${created.outs!.requestId}`);
    expect((await dataSubjectRequestProvider.read(created.id, created.outs)).props).toMatchObject({ state: "Completed" });
    await dataSubjectRequestProvider.delete(created.id, created.outs!);
    expect(service.services.dataSubjectRequests.get(key, created.outs!.requestId)).toMatchObject({ state: "Completed" });
    expect(JSON.stringify(service.store.db.prepare("SELECT user_id FROM devices").all())).toBe(JSON.stringify([{ user_id: "alan" }]));
  });

  it("read reports an erased subject that has come back, and diff then makes the request again", async () => {
    const { inputs } = await dataSubjectRequestProvider.check({}, { kind: "erasure", userId: "ada", customProperties: { email: "ada@example.org" } });
    service.services.devices.upsert(key, [{ install_id: randomUUID(), user_id: "ada", properties: {}, custom_properties: { email: "ada@example.org" } }]);
    const created = await dataSubjectRequestProvider.create(inputs!);
    const quiet = (await dataSubjectRequestProvider.read(created.id, created.outs)).props!;
    expect(quiet).toMatchObject({ state: "Completed", subjectReturned: 0 });
    expect(await dataSubjectRequestProvider.diff(created.id, quiet, inputs!)).toMatchObject({ changes: false });
    // A new device with her user id: the next refresh sees her back.
    service.services.devices.upsert(key, [{ install_id: randomUUID(), user_id: "ada", properties: {}, custom_properties: {} }]);
    const back = (await dataSubjectRequestProvider.read(created.id, created.outs)).props!;
    expect(back.subjectReturned).toBe(1);
    expect(await dataSubjectRequestProvider.diff(created.id, back, inputs!)).toMatchObject({ changes: true, replaces: ["subjectReturned"] });
    // The service answers only about the request's own subject: another is refused.
    const other = await service.app.inject({
      method: "POST",
      url: `/v0.1/apps/acme/demo/data_subject_requests/${created.outs!.requestId}/recheck`,
      headers: { "x-api-token": service.token },
      payload: { subject: { user_id: "alan" } },
    });
    expect(other.statusCode).toBe(400);
    expect(other.json().error.message).toMatch(/^subject: not the subject of data-subject request/);
  });
});
