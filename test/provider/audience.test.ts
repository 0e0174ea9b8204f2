import { beforeAll, describe, expect, it } from "vitest";
import { ESTIMATE_INPUT } from "../../domain/index.ts";
import { audienceProvider, type AudienceInputs, type AudienceOutputs } from "../../provider/audience.ts";
import { configure } from "../../provider/settings.ts";

const config = (values: Record<string, string>) => ({
  get: (key: string) => values[key],
  require: (key: string) => values[key]!,
});

beforeAll(() => {
  configure(config({ "pushplane:endpoint": "http://127.0.0.1:9", "pushplane:apiToken": "pp_x", "pushplane:owner": "acme", "pushplane:app": "demo" }));
});

const valid = { name: "dog-lovers", definition: "dog-lover eq true", customProperties: { "dog-lover": "boolean" } };

describe("Audience check", () => {
  it("fills defaults from config", async () => {
    expect(await audienceProvider.check({}, valid)).toEqual({
      inputs: {
        owner: "acme",
        app: "demo",
        name: "dog-lovers",
        definition: "dog-lover eq true",
        description: "",
        enabled: true,
        customProperties: { "dog-lover": "boolean" },
        adopt: false,
        // No service answers here: the pack is told why there is no estimate.
        [ESTIMATE_INPUT]: expect.stringMatching(/^size not estimated \(/),
      },
    });
  });

  it.each([
    [{ ...valid, definition: "dog-lover eq 'yes'" }, "definition", "definition: 'dog-lover' is a boolean property, so it compares with true or false, not a string (at column 14)"],
    [{ ...valid, definition: "dogs eq true" }, "definition", "definition: unknown property 'dogs'"],
    [{ ...valid, name: "x".repeat(65) }, "name", "name must be at most 64 characters (got 65; contract: App Center swagger, AudienceNameParameter)"],
    [{ ...valid, name: "a/b" }, "name", "name must not contain '/'"],
    [{ ...valid, description: "d".repeat(129) }, "description", "description must be at most 128 characters (got 129"],
    [{ ...valid, customProperties: { "dog-lover": "bool" } }, "customProperties", "customProperties.dog-lover: Invalid option"],
    [{ ...valid, enabled: "yes" }, "enabled", "enabled: Invalid input"],
  ])("reports %j on %s", async (news, property, reason) => {
    const result = await audienceProvider.check({}, news);
    expect(result.failures).toEqual([{ property, reason: expect.stringContaining(reason) }]);
  });
});

describe("Audience diff", () => {
  const inputs: AudienceInputs = {
    owner: "acme",
    app: "demo",
    name: "us",
    definition: "carrierCountry eq 'US'",
    description: "",
    enabled: true,
    customProperties: {},
    adopt: false,
  };
  const outputs: AudienceOutputs = { ...inputs, normalizedDefinition: "carrierCountry eq 'US'", estimatedCount: 0, state: "Ready" };

  it("sees no change when only spelling of the definition differs", async () => {
    expect(await audienceProvider.diff("acme/demo/us", outputs, { ...inputs, definition: "carrierCountry  =  'US'" })).toMatchObject({ changes: false, replaces: [] });
  });

  it.each([
    [{ definition: "carrierCountry eq 'CA'" }, []],
    [{ description: "new" }, []],
    [{ enabled: false }, []],
    [{ customProperties: { x: "string" as const } }, []],
    [{ name: "renamed" }, ["name"]],
    [{ app: "other" }, ["app"]],
  ])("%j → update (replaces %j)", async (change, replaces) => {
    expect(await audienceProvider.diff("acme/demo/us", outputs, { ...inputs, ...change })).toMatchObject({ changes: true, replaces });
  });

  it("ignores adopt: it only matters when creating", async () => {
    expect(await audienceProvider.diff("id", outputs, { ...inputs, adopt: true })).toMatchObject({ changes: false });
  });

  it("does not care about custom property key order", async () => {
    const two = { a: "string" as const, b: "number" as const };
    const reordered = { b: "number" as const, a: "string" as const };
    expect(await audienceProvider.diff("id", { ...outputs, customProperties: two }, { ...inputs, customProperties: reordered })).toMatchObject({ changes: false });
  });
});
