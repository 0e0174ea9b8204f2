// The device export's JSON lines, built in SQL for speed, against the same devices described in
// JavaScript: every line parses, carries the device's values with their types, and leaves out
// what the device does not have (no nulls).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerClient } from "@azure/storage-blob";
import { exportDevices } from "../../service/exports/device-export.ts";
import { CUSTOM_TEST_PROPERTIES, deviceArbitrary } from "../helpers/arbitraries.ts";
import { startService, type TestService } from "../helpers/service.ts";

let service: TestService;
beforeAll(async () => {
  service = await startService();
});
afterAll(async () => {
  await service.close();
});

/** A container whose one blob is collected in memory. */
function collectingContainer(): { container: ContainerClient; text: () => string } {
  let text = "";
  const container = {
    getBlockBlobClient: () => ({
      uploadStream: async (source: AsyncIterable<string | Buffer>) => {
        for await (const chunk of source) text += Buffer.from(chunk).toString("utf8");
      },
    }),
  } as unknown as ContainerClient;
  return { container, text: () => text };
}

const exportedDevice = fc.record({
  installId: fc.uuid({ version: 4 }),
  userId: fc.option(fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }), { nil: undefined }),
  push: fc.option(fc.record({ channel: fc.constantFrom("apns" as const, "fcm" as const), token: fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }) }), { nil: undefined }),
  values: deviceArbitrary,
});

describe("device export lines (SQL-built JSON)", () => {
  let run = 0;
  it("every line is the device's values, typed, with absent values left out", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(exportedDevice, { selector: (d) => d.installId, maxLength: 25 }), async (devices) => {
        const key = { owner: "lines", app: `run-${run++}` };
        // Every test property has a slot, so a device without one shows what an absent value exports as.
        const registrar = { install_id: "00000000-0000-4000-8000-000000000000", properties: {}, custom_properties: { "dog-lover": true, visits: 1, "signed-up": { date_time: "2024-01-01T00:00:00Z" }, plan: "x" } };
        service.services.devices.upsert(key, [
          registrar,
          ...devices.map((d) => ({
            install_id: d.installId,
            ...(d.userId ? { user_id: d.userId } : {}),
            ...(d.push ? { push: d.push } : {}),
            properties: d.values.properties,
            custom_properties: d.values.custom,
          })),
        ]);
        const { container, text } = collectingContainer();
        const written = await exportDevices(service.store, service.services.devices, service.store.appId(key), container, "x.jsonl", () => {});
        const lines = text().trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(written).toBe(devices.length + 1);
        const byId = new Map(lines.map((line) => [line.install_id, line]));
        for (const device of devices) {
          const custom = Object.fromEntries(
            Object.entries(device.values.custom).map(([name, value]) => [name, typeof value === "object" ? new Date(value.date_time).toISOString() : value]),
          );
          expect(byId.get(device.installId)).toEqual({
            install_id: device.installId,
            ...(device.userId ? { user_id: device.userId } : {}),
            ...(device.push ? { push_channel: device.push.channel, push_token: device.push.token } : {}),
            properties: device.values.properties,
            custom_properties: custom,
            updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          });
        }
        expect(Object.keys(byId.get(registrar.install_id)!.custom_properties as object).sort()).toEqual(Object.keys(CUSTOM_TEST_PROPERTIES).sort());
      }),
      { numRuns: 60 },
    );
  });

  it("an app without custom properties exports an empty custom_properties object", async () => {
    const key = { owner: "lines", app: "no-custom" };
    service.services.devices.upsert(key, [{ install_id: "00000000-0000-4000-8000-000000000002", properties: { locale: "fr" }, custom_properties: {} }]);
    const { container, text } = collectingContainer();
    expect(await exportDevices(service.store, service.services.devices, service.store.appId(key), container, "x.jsonl", () => {})).toBe(1);
    expect(JSON.parse(text())).toMatchObject({ install_id: "00000000-0000-4000-8000-000000000002", properties: { locale: "fr" }, custom_properties: {} });
  });

  it("a page reader that cannot read fails the export instead of hanging it", async () => {
    const key = { owner: "lines", app: "unreadable" };
    service.services.devices.upsert(key, [{ install_id: "00000000-0000-4000-8000-000000000001", properties: {}, custom_properties: {} }]);
    const unreadable = Object.assign(Object.create(service.store) as typeof service.store, { path: "/nonexistent/pushplane.sqlite" });
    const { container } = collectingContainer();
    await expect(exportDevices(unreadable, service.services.devices, service.store.appId(key), container, "x.jsonl", () => {})).rejects.toThrow(/unable to open/i);
  });
});
