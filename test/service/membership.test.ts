import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateDefinition, parseDefinition } from "../../domain/index.ts";
import { compileDefinition } from "../../service/membership.ts";
import { createServices } from "../../service/services.ts";
import { CUSTOM_TEST_PROPERTIES, definitionArbitrary, deviceArbitrary } from "../helpers/arbitraries.ts";
import { startService, type TestService } from "../helpers/service.ts";

let service: TestService;
beforeAll(async () => {
  service = await startService();
});
afterAll(async () => {
  await service.close();
});

describe("audience membership in SQL equals brute-force evaluation", () => {
  it("for many random definitions over many random device sets", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(deviceArbitrary, { minLength: 0, maxLength: 60 }), fc.array(definitionArbitrary, { minLength: 1, maxLength: 8 }), async (devices, definitions) => {
        // A fresh app per run keeps runs independent.
        const key = { owner: "prop", app: `run-${run++}` };
        const { devices: store, counter } = service.services;
        store.upsert(
          key,
          devices.map((d) => ({ install_id: randomUUID(), properties: d.properties, custom_properties: d.custom })),
        );
        for (const definition of definitions) {
          const expected = devices.filter((d) => evaluateDefinition(parseDefinition(definition), d.record)).length;
          expect((await counter.count(key, definition, CUSTOM_TEST_PROPERTIES)).estimated, definition).toBe(expected);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("a property never ingested, or declared with another type, matches nothing", async () => {
    const key = { owner: "prop", app: "types" };
    const { devices, counter } = service.services;
    devices.upsert(key, [{ install_id: randomUUID(), properties: {}, custom_properties: { visits: 3 } }]);
    expect((await counter.count(key, "visits eq 3", { visits: "number" })).estimated).toBe(1);
    expect((await counter.count(key, "visits eq '3'", { visits: "string" })).estimated).toBe(0);
    expect((await counter.count(key, "never-seen eq true", { "never-seen": "boolean" })).estimated).toBe(0);
  });

  // Regression: slots were cached per process, so a property another process (a replica, the
  // generator writing to the same data directory) added was invisible to this one's counts.
  it("counts a custom property that another process added", async () => {
    const key = { owner: "prop", app: "two-writers" };
    const reader = service.services;
    expect((await reader.counter.count(key, "late eq true", { late: "boolean" })).estimated).toBe(0);
    const writer = createServices(service.store);
    writer.devices.upsert(key, [{ install_id: randomUUID(), properties: {}, custom_properties: { late: true } }]);
    expect((await reader.counter.count(key, "late eq true", { late: "boolean" })).estimated).toBe(1);
    await writer.close();
  });

  it("puts values in parameters, never in the SQL text", () => {
    const condition = compileDefinition(parseDefinition("carrierCountry eq 'x'' OR 1=1 --' or osApiLevel ge 3"), new Map());
    expect(condition.sql).toBe("(carrier_country = ? OR os_api_level >= ?)");
    expect(condition.params).toEqual(["x' OR 1=1 --", 3]);
  });
});

/** The audiences' stored counts, by name, as GET answers them. */
function storedCounts(key: { owner: string; app: string }): Map<string, { count: number; total: number; state: string }> {
  const records = service.services.repositories.audiences.list(key, { includeDisabled: true, limit: 1_000 });
  return new Map(records.map((r) => [r.name, { count: r.estimatedCount, total: r.estimatedTotalCount, state: r.state }]));
}

describe("audience counts kept incrementally stay exact", () => {
  // Random audiences, then random device changes (new devices, changed properties, deletions),
  // interleaved with definition changes whose full count runs in the background: after every step
  // the stored counts equal a brute-force evaluation of the devices as they are.
  it("under random device changes and definition changes, against brute force", async () => {
    let run = 0;
    const change = fc.oneof(
      fc.record({ kind: fc.constant("upsert" as const), device: deviceArbitrary, slot: fc.nat({ max: 9 }) }),
      fc.record({ kind: fc.constant("delete" as const), slot: fc.nat({ max: 9 }) }),
      fc.record({ kind: fc.constant("redefine" as const), audience: fc.nat({ max: 3 }), definition: definitionArbitrary }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(definitionArbitrary, { minLength: 1, maxLength: 4 }), fc.array(change, { minLength: 1, maxLength: 25 }), async (definitions, changes) => {
        const key = { owner: "incremental", app: `run-${run++}` };
        const api = (method: "PUT" | "DELETE", url: string, payload?: object) =>
          service.app.inject({ method, url: `/v0.1/apps/${key.owner}/${key.app}${url}`, headers: { "x-api-token": token(key) }, ...(payload ? { payload } : {}) });
        const audiences = new Map<string, string>();
        for (const [i, definition] of definitions.entries()) {
          expect((await api("PUT", `/analytics/audiences/a${i}`, { definition, custom_properties: CUSTOM_TEST_PROPERTIES })).statusCode).toBe(200);
          audiences.set(`a${i}`, definition);
        }
        // Ten install ids, so changes hit existing devices as often as new ones.
        const current = new Map<number, Record<string, string | number | boolean | Date>>();
        for (const step of changes) {
          if (step.kind === "upsert") {
            service.services.devices.upsert(key, [{ install_id: `device-${step.slot}`, properties: step.device.properties, custom_properties: step.device.custom }]);
            // Given properties overwrite, absent ones keep their value.
            current.set(step.slot, { ...current.get(step.slot), ...step.device.record });
          } else if (step.kind === "delete") {
            service.services.devices.delete(key, `device-${step.slot}`);
            current.delete(step.slot);
          } else if (audiences.size > step.audience) {
            await api("PUT", `/analytics/audiences/a${step.audience}`, { definition: step.definition, custom_properties: CUSTOM_TEST_PROPERTIES });
            audiences.set(`a${step.audience}`, step.definition);
          }
          // Some steps check before background counts land, some after.
          if (step.kind !== "redefine" || changes.indexOf(step) % 2 === 0) await service.services.idle();
          const stored = storedCounts(key);
          for (const [name, definition] of audiences) {
            const got = stored.get(name)!;
            expect(got.total).toBe(current.size);
            if (got.state === "Calculating") continue;
            const expected = [...current.values()].filter((record) => evaluateDefinition(parseDefinition(definition), record)).length;
            expect(got.count, `${name}: ${definition}`).toBe(expected);
          }
        }
        await service.services.idle();
        for (const [name, definition] of audiences) {
          const expected = [...current.values()].filter((record) => evaluateDefinition(parseDefinition(definition), record)).length;
          expect(storedCounts(key).get(name), `${name}: ${definition}`).toMatchObject({ count: expected, state: "Ready" });
        }
      }),
      { numRuns: 60 },
    );
  });

  it("drops every change image once the counts have taken it in, however many a write left", async () => {
    const key = { owner: "images", app: randomUUID() };
    const put = await service.app.inject({
      method: "PUT",
      url: `/v0.1/apps/${key.owner}/${key.app}/analytics/audiences/us`,
      headers: { "x-api-token": token(key) },
      payload: { definition: "carrierCountry eq 'US'" },
    });
    expect(put.statusCode).toBeLessThan(300);
    await service.services.idle();
    // 6,000 devices in one write leave 12,000 images (before and after) for one count-moves item,
    // more than one turn's worth to drop.
    service.services.devices.upsert(key, Array.from({ length: 6_000 }, () => ({ install_id: randomUUID(), properties: { carrierCountry: "US" }, custom_properties: {} })));
    await service.services.idle();
    const images = service.store.db.prepare("SELECT count(*) AS n FROM device_change_images").get() as { n: number };
    expect(images.n).toBe(0);
    expect(storedCounts(key).get("us")).toMatchObject({ count: 6_000, state: "Ready" });
  });
});

const tokens = new Map<string, string>();
const token = (key: { owner: string; app: string }) => {
  const id = `${key.owner}/${key.app}`;
  if (!tokens.has(id)) tokens.set(id, service.tokenFor(key.owner, key.app));
  return tokens.get(id)!;
};
