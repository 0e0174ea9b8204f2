// The generic parts every resource derives from its declaration: input parsing (pending values, a
// misspelled input, the declaration's own checks), the diff of inputs, and the secret names.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { audienceResource, changedInputs, containerSasTokenResource, declareResource, parseInputs, pushConfigResource, secretNames } from "../../domain/index.ts";

const PENDING = Symbol("pending");
const isPending = (value: unknown) => value === PENDING;
const none = () => false;

describe("parseInputs", () => {
  it("fills defaults and leaves Pulumi's own keys and the outputs alone", () => {
    const { inputs, failures } = parseInputs(audienceResource, { name: "us", definition: "carrierCountry eq 'US'", __provider: "x", estimatedCount: undefined }, none);
    expect(failures).toEqual([]);
    expect(inputs).toMatchObject({ name: "us", description: "", enabled: true, customProperties: {}, adopt: false });
  });

  it("names a misspelled input and what it most likely is", () => {
    const { failures } = parseInputs(audienceResource, { name: "us", definiton: "carrierCountry eq 'US'" }, none);
    expect(failures).toContainEqual({ property: "definiton", reason: "definiton: Audience has no input 'definiton' (did you mean 'definition'?)" });
  });

  it("checks a pending input once it is known: no failure for it now, its value passed through", () => {
    const { inputs, failures, pending } = parseInputs(containerSasTokenResource, { containerName: PENDING, permissions: "cw" }, isPending);
    expect(failures).toEqual([]);
    expect([...pending]).toEqual(["containerName"]);
    expect(inputs.containerName).toBe(PENDING);
    // Known, the same value is refused.
    expect(parseInputs(containerSasTokenResource, { containerName: "Not_A_Name" }, none).failures.map((f) => f.property)).toEqual(["containerName"]);
  });

  it("treats an object holding a pending value as pending", () => {
    const { failures, pending } = parseInputs(pushConfigResource, { apns: { keyId: "short", teamId: "T", token: PENDING } }, isPending);
    expect(failures).toEqual([]);
    expect(pending.has("apns")).toBe(true);
  });

  it("runs the declaration's own checks on parsed inputs, in the program's spelling", () => {
    const { failures } = parseInputs(pushConfigResource, { apns: { keyId: "short", teamId: "ABCDE12345", token: "x".repeat(40) } }, none);
    expect(failures).toEqual([{ property: "apns", reason: "apns.keyId: must be the 10-character APNs key id" }]);
  });
});

describe("changedInputs", () => {
  it("takes a missing old input as its default, ignores inert inputs, and flags the inputs that replace", () => {
    const olds = { owner: "acme", app: "ios", name: "us", definition: "carrierCountry eq 'US'", adopt: true };
    const same = { ...olds, description: "", enabled: true, customProperties: {}, adopt: false };
    expect(changedInputs(audienceResource, olds, same)).toEqual({ changed: [], replaces: [] });
    expect(changedInputs(audienceResource, olds, { ...same, name: "eu", enabled: false })).toEqual({ changed: ["name", "enabled"], replaces: ["name"] });
  });

  it("compares a definition by its normalized text", () => {
    const olds = { name: "us", definition: "carrierCountry eq 'US'" };
    expect(changedInputs(audienceResource, olds, { ...olds, definition: "(carrierCountry  eq  'US')" }).changed).toEqual([]);
    expect(changedInputs(audienceResource, olds, { ...olds, definition: "carrierCountry eq 'CA'" }).changed).toEqual(["definition"]);
  });

  it("compares records whatever their key order", () => {
    const olds = { name: "us", definition: "tier eq 'gold' and age gt 3", customProperties: { tier: "string", age: "number" } };
    expect(changedInputs(audienceResource, olds, { ...olds, customProperties: { age: "number", tier: "string" } }).changed).toEqual([]);
  });
});

describe("secretNames", () => {
  it("lists secret inputs and outputs", () => {
    expect(secretNames(pushConfigResource)).toEqual(["apns", "fcm"]);
    expect(secretNames(containerSasTokenResource)).toEqual(["storageConnectionString", "sasUrl"]);
  });

  it("follows the declaration", () => {
    const declared = declareResource({ kind: "Probe", doc: "", source: "", inputs: { key: { schema: z.string(), doc: "", secret: true } }, outputs: {} });
    expect(secretNames(declared)).toEqual(["key"]);
  });
});
