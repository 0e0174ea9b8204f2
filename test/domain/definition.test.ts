import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkDefinition,
  DefinitionError,
  evaluateDefinition,
  parseDefinition,
  printDefinition,
  typeCheckDefinition,
  type Expression,
} from "../../domain/index.ts";
import { definitionArbitrary, deviceArbitrary, PROPERTY_TYPES_FOR_TESTS } from "../helpers/arbitraries.ts";

const dogs = { "dog-lover": "boolean", "dog-breed": "string", "signed-up": "date_time", visits: "number" } as const;

/** The tree without positions, for comparing what two texts mean. */
const shape = (e: Expression): unknown =>
  e.type === "comparison"
    ? { p: e.property, op: e.operator, k: e.literal.kind, v: e.literal.value }
    : { t: e.type, o: e.operands.map(shape) };

describe("definition grammar: valid definitions", () => {
  it.each([
    ["carrierCountry eq 'US'", "carrierCountry eq 'US'"],
    ["dog-lover eq true and dog-breed eq 'Golden Retriever'", "dog-lover eq true and dog-breed eq 'Golden Retriever'"],
    ["osApiLevel>=21", "osApiLevel ge 21"],
    ["a = 1 or (b != 2 and c < 3)", "a eq 1 or b ne 2 and c lt 3"],
    ["(a eq 1 or b eq 2) and c eq 3", "(a eq 1 or b eq 2) and c eq 3"],
    ["((a eq 1))", "a eq 1"],
    ["name eq 'O''Brien'", "name eq 'O''Brien'"],
    ["x le -1.5", "x le -1.5"],
    ["signed-up gt 2024-01-31", "signed-up gt 2024-01-31"],
    ["signed-up gt 2024-01-31T10:00:00Z", "signed-up gt 2024-01-31T10:00:00Z"],
    ["a eq 1 and (b eq 2 and c eq 3)", "a eq 1 and b eq 2 and c eq 3"],
  ])("%s prints as %s", (source, printed) => {
    expect(printDefinition(parseDefinition(source))).toBe(printed);
  });

  it("type-checks the seeds' examples", () => {
    expect(checkDefinition("carrierCountry eq 'US'")).toMatchObject({ normalized: "carrierCountry eq 'US'" });
    expect(checkDefinition("dog-lover eq true and dog-breed eq 'Golden Retriever'", dogs)).toMatchObject({
      normalized: "dog-lover eq true and dog-breed eq 'Golden Retriever'",
    });
  });
});

describe("definition grammar: errors carry position and what was expected", () => {
  it.each([
    ["carrierCountry eq 'US", 19, "unterminated string literal"],
    ["carrierCountry eq 'US' and", 24, "'and' needs a condition on its right side"],
    ["carrierCountry eq 'US' or )", 24, "needs a condition on its right side"],
    ["carrierCountry 'US'", 16, "expected a comparison operator"],
    ["carrierCountry eq", 18, "expected a value"],
    ["(carrierCountry eq 'US'", 24, "expected ')'"],
    ["carrierCountry eq 'US' locale eq 'en'", 24, "expected 'and', 'or'"],
    ["carrierCountry eq 'US' # x", 24, "unexpected character '#'"],
    ["signed-up gt 2024-02-30", 14, "not a valid date"],
    ["", 1, "expected a property name"],
    // Regression (reliability fuzz): 2,000 '(' overflowed the stack, a 500 in the service.
    [`${"(".repeat(51)}locale eq 'en'${")".repeat(51)}`, 51, "parentheses nest more than 50 levels deep"],
    ["(".repeat(2_000), 51, "parentheses nest more than 50 levels deep"],
  ])("%j fails at column %i", (source, column, text) => {
    let error: unknown;
    try {
      parseDefinition(source);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as DefinitionError).position.column).toBe(column);
    expect((error as DefinitionError).message).toContain(text);
  });

  it.each([
    ["foo eq 1", 1, "unknown property 'foo'"],
    ["osApiLevel eq 'x'", 15, "'osApiLevel' is a number property"],
    ["carrierCountry eq 1", 19, "'carrierCountry' is a string property"],
    ["dog-lover eq 1", 14, "'dog-lover' is a boolean property"],
    ["dog-lover gt true", 1, "only eq and ne apply"],
    ["signed-up gt 'yesterday'", 14, "is a date_time property"],
  ])("type error in %j at column %i", (source, column, text) => {
    expect(() => typeCheckDefinition(parseDefinition(source), dogs)).toThrow(text);
    try {
      typeCheckDefinition(parseDefinition(source), dogs);
    } catch (e) {
      expect((e as DefinitionError).position.column).toBe(column);
    }
  });

  it("points at the character itself: the string's opening quote, not the end of the definition", () => {
    expect(() => parseDefinition("locale eq 'fr and osApiLevel ge 30 and x eq 1")).toThrow("unterminated string literal: expected a closing single quote (at column 11)");
  });

  it("names the line and the column in a definition written over several lines", () => {
    const definition = "carrierCountry eq 'US'\n  and osApiLevel ge 30\n  and locale eq 'fr";
    expect(() => parseDefinition(definition)).toThrow("unterminated string literal: expected a closing single quote (at line 3, column 17)");
    expect(() => typeCheckDefinition(parseDefinition("carrierCountry eq 'US'\n  and foo eq 1"), {})).toThrow("unknown property 'foo'");
    expect(() => typeCheckDefinition(parseDefinition("carrierCountry eq 'US'\n  and foo eq 1"), {})).toThrow("(at line 2, column 7)");
  });

  it("suggests the property a misspelled name most likely meant, device or declared custom, and names the field as the caller spells it", () => {
    expect(() => typeCheckDefinition(parseDefinition("localee eq 'fr'"), {})).toThrow("unknown property 'localee': did you mean 'locale'?");
    expect(() => typeCheckDefinition(parseDefinition("CarrierCountry eq 'US'"), {})).toThrow("did you mean 'carrierCountry'?");
    expect(() => typeCheckDefinition(parseDefinition("dog-lovr eq true"), { "dog-lover": "boolean" }, "customProperties")).toThrow(
      "unknown property 'dog-lovr': did you mean 'dog-lover'? expected a device property",
    );
    expect(() => typeCheckDefinition(parseDefinition("dog-lovr eq true"), { "dog-lover": "boolean" }, "customProperties")).toThrow("declared in customProperties (dog-lover)");
    // Nothing close: no guess.
    const far = () => typeCheckDefinition(parseDefinition("favouriteColour eq 'red'"), {});
    expect(far).toThrow("unknown property 'favouriteColour'");
    expect(far).not.toThrow("did you mean");
  });

  it("counts characters, not UTF-16 units, before the position", () => {
    // 'and' is the 16th character (the 18th UTF-16 unit: each emoji is two).
    expect(() => parseDefinition("locale eq '😀😀' and ) ")).toThrow("(at column 16)");
  });

  it("rejects a definition over 2,000 characters and names the limit's source", () => {
    const long = `carrierCountry eq '${"x".repeat(2000)}'`;
    expect(checkDefinition(long)).toEqual({
      field: "definition",
      message: expect.stringContaining("must be at most 2000 characters (got 2020; contract: App Center swagger"),
    });
  });

  it("accepts a definition of exactly 2,000 characters", () => {
    const exact = `carrierCountry eq '${"x".repeat(2000 - 20)}'`;
    expect(exact).toHaveLength(2000);
    expect(checkDefinition(exact)).toHaveProperty("normalized");
  });
});

// ---- properties ----

const types = PROPERTY_TYPES_FOR_TESTS;
const definition = definitionArbitrary;
const device = deviceArbitrary.map((d) => d.record);

describe("definition grammar: properties", () => {
  it("print → parse gives back the same tree", () => {
    fc.assert(
      fc.property(definition, (source) => {
        const tree = parseDefinition(source);
        expect(shape(parseDefinition(printDefinition(tree)))).toEqual(shape(tree));
      }),
      { numRuns: 500 },
    );
  });

  it("printing is idempotent (the normalized form is a fixed point)", () => {
    fc.assert(
      fc.property(definition, (source) => {
        const once = printDefinition(parseDefinition(source));
        expect(printDefinition(parseDefinition(once))).toBe(once);
      }),
      { numRuns: 300 },
    );
  });

  it("a definition and its normalized form select the same devices", () => {
    fc.assert(
      fc.property(definition, device, (source, d) => {
        const tree = parseDefinition(source);
        const normalized = parseDefinition(printDefinition(tree));
        expect(evaluateDefinition(normalized, d)).toBe(evaluateDefinition(tree, d));
      }),
      { numRuns: 500 },
    );
  });

  it("generated definitions type-check", () => {
    fc.assert(fc.property(definition, (source) => void typeCheckDefinition(parseDefinition(source), types)), { numRuns: 200 });
  });
});

describe("evaluator", () => {
  const us = { carrierCountry: "US", osApiLevel: 30, "dog-lover": true, "dog-breed": "Golden Retriever", "signed-up": "2024-03-01T00:00:00Z" };
  it.each([
    ["carrierCountry eq 'US'", true],
    ["carrierCountry ne 'US'", false],
    ["osApiLevel ge 30 and osApiLevel lt 31", true],
    ["carrierCountry eq 'CA' or dog-lover eq true", true],
    ["dog-lover eq true and dog-breed eq 'Golden Retriever'", true],
    ["signed-up gt 2024-02-29", true],
    ["signed-up lt 2024-03-01", false],
    // A missing value never matches, not even `ne` (SQL NULL semantics, same as the store).
    ["locale ne 'en'", false],
  ])("%s → %s", (source, expected) => {
    expect(evaluateDefinition(parseDefinition(source), us)).toBe(expected);
  });
});
