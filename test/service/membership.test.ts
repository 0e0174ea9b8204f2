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
  it("for many random definitions over many random device sets", () => {
    let run = 0;
    fc.assert(
      fc.property(fc.array(deviceArbitrary, { minLength: 0, maxLength: 60 }), fc.array(definitionArbitrary, { minLength: 1, maxLength: 8 }), (devices, definitions) => {
        // A fresh app per run keeps runs independent.
        const key = { owner: "prop", app: `run-${run++}` };
        const { devices: store, counter } = servicesOf(service);
        store.upsert(
          key,
          devices.map((d) => ({ install_id: randomUUID(), properties: d.properties, custom_properties: d.custom })),
        );
        for (const definition of definitions) {
          const expected = devices.filter((d) => evaluateDefinition(parseDefinition(definition), d.record)).length;
          expect(counter.count(key, definition, CUSTOM_TEST_PROPERTIES).estimated, definition).toBe(expected);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("a property never ingested, or declared with another type, matches nothing", () => {
    const key = { owner: "prop", app: "types" };
    const { devices, counter } = servicesOf(service);
    devices.upsert(key, [{ install_id: randomUUID(), properties: {}, custom_properties: { visits: 3 } }]);
    expect(counter.count(key, "visits eq 3", { visits: "number" }).estimated).toBe(1);
    expect(counter.count(key, "visits eq '3'", { visits: "string" }).estimated).toBe(0);
    expect(counter.count(key, "never-seen eq true", { "never-seen": "boolean" }).estimated).toBe(0);
  });

  // Regression: slots were cached per process, so a property another process (a replica, the
  // generator writing to the same data directory) added was invisible to this one's counts.
  it("counts a custom property that another process added", () => {
    const key = { owner: "prop", app: "two-writers" };
    const reader = servicesOf(service);
    expect(reader.counter.count(key, "late eq true", { late: "boolean" }).estimated).toBe(0);
    const writer = createServices(service.store);
    writer.devices.upsert(key, [{ install_id: randomUUID(), properties: {}, custom_properties: { late: true } }]);
    expect(reader.counter.count(key, "late eq true", { late: "boolean" }).estimated).toBe(1);
    void writer.close();
  });

  it("puts values in parameters, never in the SQL text", () => {
    const condition = compileDefinition(parseDefinition("carrierCountry eq 'x'' OR 1=1 --' or osApiLevel ge 3"), new Map());
    expect(condition.sql).toBe("(carrier_country = ? OR os_api_level >= ?)");
    expect(condition.params).toEqual(["x' OR 1=1 --", 3]);
  });
});

function servicesOf(s: TestService) {
  return s.services;
}
