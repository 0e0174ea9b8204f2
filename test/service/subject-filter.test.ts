// The export subject filter: never a false negative (an erasure would skip a blob that holds its
// subject), false positives near the designed rate, and keyed (another key does not read it).
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mayHold, SubjectFilterBuilder } from "../../service/exports/subject-filter.mts";

const KEY = "a-key";
const identifier = fc.record({ type: fc.constantFrom("user_id", "install_id", "custom_property:email"), value: fc.string({ minLength: 1, maxLength: 40 }) });

describe("the subject filter", () => {
  it("holds every identifier added to it, whatever the identifiers and their number", () => {
    fc.assert(
      fc.property(fc.array(identifier, { minLength: 1, maxLength: 300 }), fc.string(), (identifiers, key) => {
        const builder = new SubjectFilterBuilder(key);
        builder.add(identifiers);
        const filter = builder.build();
        return identifiers.every((one) => mayHold(filter, key, [one]));
      }),
      { numRuns: 300 },
    );
  });

  it("answers false positives near its designed rate (0.1 %), and none for an empty filter", () => {
    const builder = new SubjectFilterBuilder(KEY);
    builder.add(Array.from({ length: 20_000 }, () => ({ type: "install_id", value: randomUUID() })));
    const filter = builder.build();
    const falsePositives = Array.from({ length: 20_000 }, () => mayHold(filter, KEY, [{ type: "install_id", value: randomUUID() }])).filter(Boolean).length;
    expect(falsePositives).toBeLessThan(60);
    expect(mayHold(new SubjectFilterBuilder(KEY).build(), KEY, [{ type: "user_id", value: "x" }])).toBe(false);
    // No filter (a blob being written, or from a crash mid-write): it may hold anyone.
    expect(mayHold(null, KEY, [{ type: "user_id", value: "x" }])).toBe(true);
  });

  it("is keyed: under another key the same identifiers are not found", () => {
    const builder = new SubjectFilterBuilder(KEY);
    const identifiers = Array.from({ length: 200 }, () => ({ type: "user_id", value: randomUUID() }));
    builder.add(identifiers);
    const filter = builder.build();
    expect(identifiers.filter((one) => mayHold(filter, "another-key", [one])).length).toBeLessThan(5);
  });
});
