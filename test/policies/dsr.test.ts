// dsr-cleanup: one happy stack, and one change per case that brings an erased subject back.
import type { StackValidationArgs } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { resourceType } from "../../domain/index.ts";
import { dsrCleanup, dsrDueDate } from "../../policies/dsr.ts";

const EMAIL = "ada.lovelace@example.org";
const erasure = { type: resourceType("DataSubjectRequest"), name: "ticket-4711", props: { kind: "erasure", userId: "ada", customProperties: { email: EMAIL } } };
const audience = (name: string, props: Record<string, unknown>) => ({ type: resourceType("Audience"), name, props: { name, definition: "carrierCountry eq 'US'", ...props } });

function violations(resources: { type: string; name: string; props: Record<string, unknown> }[], policy = dsrCleanup): string[] {
  const found: string[] = [];
  const args = { resources: resources.map((r) => ({ ...r, urn: `urn:pulumi:s::p::${r.type}::${r.name}` })), getConfig: () => ({}) } as unknown as StackValidationArgs;
  void policy.validateStack(args, (message: string) => found.push(message));
  return found;
}

describe("dsr-cleanup", () => {
  it("passes a stack whose other resources name no erased subject (a value inside a longer word is not the subject)", () => {
    expect(violations([erasure, audience("canada", { definition: "carrierCountry eq 'CA'", description: "Canada and its provinces" })])).toEqual([]);
  });

  it.each([
    ["an audience definition naming the email", audience("subject-only", { definition: `email eq '${EMAIL}'`, customProperties: { email: "string" } }), "Audience 'subject-only': its definition names"],
    ["an audience description naming the user id", audience("vip", { description: "like ada, but louder" }), "Audience 'vip': its description names"],
    [
      "an export job's segment input",
      { type: resourceType("ExportJob"), name: "weekly", props: { kind: "segment_export", segment: { segmentId: EMAIL } } },
      "ExportJob 'weekly': its segment.segmentId names",
    ],
  ])("fails on %s, naming resource, input and request, never the identifier", (_case, resource, message) => {
    const found = violations([erasure, resource]);
    expect(found).toEqual([expect.stringContaining(message)]);
    expect(found[0]).toContain("DataSubjectRequest 'ticket-4711'");
    expect(found[0]).not.toContain(EMAIL);
    expect(found[0]).not.toMatch(/\bada\b/);
  });

  it("says nothing when the erasure's identifiers are not known yet (computed at up)", () => {
    expect(violations([{ ...erasure, props: { kind: "erasure" } }, audience("subject-only", { definition: `email eq '${EMAIL}'` })])).toEqual([]);
  });
});

describe("dsr-due-date", () => {
  const DAY = 86_400_000;
  const request = (state: string, dueInDays: number) => ({ ...erasure, props: { ...erasure.props, state, dueAt: new Date(Date.now() + dueInDays * DAY).toISOString() } });

  it("passes requests answered, or open within their month (and one being created, with no state yet)", () => {
    expect(violations([request("Completed", -3), request("Pending", 10), erasure], dsrDueDate)).toEqual([]);
    expect(dsrDueDate.enforcementLevel).toBe("advisory");
  });

  it("reports a request still open past its due date, naming it and the rule's source", () => {
    expect(violations([request("Running", -1)], dsrDueDate)).toEqual([expect.stringMatching(/^DataSubjectRequest 'ticket-4711' is still Running past its due date .*GDPR Art\. 12\(3\)/)]);
  });
});
