import type { PolicyResource, ResourceValidation, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { AUDIENCE_TYPE, audienceDefinitionValid, audienceNameRules, audienceSendLimit, audiencesPerAppLimit } from "../../policies/audiences.ts";
import { ESTIMATE_INPUT, GUARDRAILS } from "../../domain/index.ts";
import { violations } from "./run.ts";
const DEFAULT_AUDIENCE_NAME_PATTERN = GUARDRAILS["audience-name-rules"].pattern.default;

// One happy-path input; each case changes one property (pulumi-policy-aws style).
const happy = { owner: "acme", app: "demo", name: "us", definition: "carrierCountry eq 'US'", description: "", customProperties: {} };

function resourceViolations(props: Record<string, unknown>, type = AUDIENCE_TYPE): string[] {
  const violations: string[] = [];
  const args = { type, props, urn: `urn:pulumi:s::p::${type}::x`, name: "x", opts: {}, getConfig: () => ({}) } as unknown as ResourceValidationArgs;
  void (audienceDefinitionValid.validateResource as ResourceValidation)(args, (message: string) => violations.push(message));
  return violations;
}

function stackViolations(resources: Record<string, unknown>[], config: { maxAudiencesPerApp?: number } = {}): string[] {
  const violations: string[] = [];
  const args = {
    resources: resources.map((props, i) => ({ type: AUDIENCE_TYPE, props, urn: `urn:${i}`, name: `a${i}` }) as unknown as PolicyResource),
    getConfig: () => ({ maxAudiencesPerApp: 200, ...config }),
  } as unknown as StackValidationArgs;
  void audiencesPerAppLimit.validateStack(args, (message: string) => violations.push(message));
  return violations;
}

describe("audience-definition-valid", () => {
  it("passes the happy path", () => expect(resourceViolations(happy)).toEqual([]));
  it("ignores other resource types", () => expect(resourceViolations({ ...happy, definition: "nope" }, "random:index:RandomString")).toEqual([]));
  it("skips values unknown at preview", () => expect(resourceViolations({ ...happy, definition: undefined })).toEqual([]));
  it.each([
    [{ definition: "foo eq 1" }, "audience 'us': definition: unknown property 'foo'"],
    [{ definition: "dog-lover eq true" }, "unknown property 'dog-lover'"],
    [{ definition: "dog-lover eq true", customProperties: { "dog-lover": "string" } }, "'dog-lover' is a string property"],
    [{ name: "n".repeat(65) }, "name must be at most 64 characters"],
    [{ description: "d".repeat(129) }, "description must be at most 128 characters"],
  ])("%j → %s", (change, message) => {
    const violations = resourceViolations({ ...happy, ...change });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain(message);
  });
});

describe("audiences-per-app-limit", () => {
  const many = (n: number, change: Record<string, unknown> = {}) => Array.from({ length: n }, (_, i) => ({ ...happy, name: `a${i}`, ...change }));
  it("allows exactly 200 for one app", () => expect(stackViolations(many(200))).toEqual([]));
  it("stops 201 for one app, naming the app and the limit", () => {
    expect(stackViolations(many(201))).toEqual([
      "acme/demo must have at most 200 audiences, but this stack declares 201 (seeds: Using the Push API: 200 audiences per app)",
    ]);
  });
  it("counts apps separately", () => expect(stackViolations([...many(150), ...many(150, { app: "other" })])).toEqual([]));
  it("groups audiences without owner/app under the stack's default app", () => {
    expect(stackViolations(many(201, { owner: undefined, app: undefined }))[0]).toContain("the stack's default app");
  });
  it("honours a lower configured maximum", () => expect(stackViolations(many(11), { maxAudiencesPerApp: 10 })).toHaveLength(1));
  it("has a config schema that cannot raise the platform limit", () => {
    expect(audiencesPerAppLimit.configSchema?.properties?.maxAudiencesPerApp).toMatchObject({ default: 200, maximum: 200 });
  });
});

describe("audience-name-rules", () => {
  const named = (name: unknown, config: Record<string, unknown> = {}) => {
    const violations: string[] = [];
    const args = { type: AUDIENCE_TYPE, props: { ...happy, name }, urn: "urn:x", name: "x", opts: {}, getConfig: () => ({ pattern: DEFAULT_AUDIENCE_NAME_PATTERN, maxLength: 64, ...config }) } as unknown as ResourceValidationArgs;
    void (audienceNameRules.validateResource as ResourceValidation)(args, (message: string) => violations.push(message));
    return violations;
  };
  it("passes a kebab-case name, and one unknown at preview", () => {
    expect(named("us-users")).toEqual([]);
    expect(named(undefined)).toEqual([]);
  });
  it("takes a pattern as JSON Schema does (no flags), and says once, without a stack trace, that one is not a regular expression", () => {
    expect(named("spring_sale", { pattern: "^[a-z0-9\\_-]+$" })).toEqual([]);
    expect(named("été", { pattern: "^\\p{Ll}+$" })).toEqual([]);
    expect(named("Été", { pattern: "^\\p{Ll}+$" })).toHaveLength(1);
    const broken = [...named("us", { pattern: "[" }), ...named("eu", { pattern: "[" })];
    expect(broken).toEqual(["policy config pattern '[' is not a regular expression (Invalid regular expression: /[/: Unterminated character class): fix it in the --policy-pack-config file; no name was checked"]);
  });
  it("stops a name off the rule, naming the rule and the config", () => expect(named("US_Users")).toEqual([`audience 'US_Users': the name must match ${DEFAULT_AUDIENCE_NAME_PATTERN} (policy config pattern)`]));
  it("stops a name over the configured length, counting characters", () => {
    expect(named("é".repeat(21), { maxLength: 20, pattern: ".*" })).toEqual([`audience '${"é".repeat(21)}': the name must be at most 20 characters (got 21; policy config maxLength)`]);
  });
  it("takes the organization's own pattern", () => expect(named("team-growth-us", { pattern: "^team-[a-z]+-" })).toEqual([]));
});

describe("audience-send-limit", () => {
  const estimated = (devices: number | undefined, config?: Record<string, unknown>, type = AUDIENCE_TYPE) =>
    violations(audienceSendLimit, type, { ...happy, [ESTIMATE_INPUT]: devices }, config);
  it("passes an audience the provider estimates within the send limit", () => expect(estimated(1_000)).toEqual([]));
  it("reports one over it, naming the estimate, the limit and its source", () => {
    expect(estimated(1_802)).toEqual([
      "audience 'us' (acme/demo) would hold ~1,802 devices by the provider's estimate, over 1,000 (policy config maxDevices; the platform refuses a notification to more than 1,000 devices per audience, seeds: Using the Push API): narrow its definition",
    ]);
  });
  it("takes a lower organization limit from its config", () => expect(estimated(600, { maxDevices: 500 })[0]).toContain("would hold ~600 devices by the provider's estimate, over 500"));
  it("has nothing to judge for an audience the provider did not count (unchanged: judged when it changed)", () => expect(estimated(undefined)).toEqual([]));
  it("says the limit went unchecked when the provider could not estimate (so a mandatory limit fails closed)", () => {
    expect(violations(audienceSendLimit, AUDIENCE_TYPE, { ...happy, [ESTIMATE_INPUT]: "size not estimated (connect ECONNREFUSED 127.0.0.1:1)" })).toEqual([
      "audience 'us' (acme/demo) could not be checked against 1,000 devices: size not estimated (connect ECONNREFUSED 127.0.0.1:1)",
    ]);
  });
  it("ignores other resource types", () => expect(estimated(5_000, {}, "random:index:RandomString")).toEqual([]));
  it("is advisory unless configured mandatory", () => expect(audienceSendLimit.enforcementLevel).toBe("advisory"));
});
