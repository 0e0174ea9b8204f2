// `pushplane review`: previews of real stacks (captured from the engine: streaming JSON) rendered
// as the expected Markdown, each kind of audience change, the plain JSON digest, and what it
// cannot read — an empty preview, lines that are not JSON, events, fields and resource types of
// another Pulumi version, a preview that failed — said, never dropped.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { adoptionLine, resourceType } from "../../domain/index.ts";
import { main } from "../../provider/cli.ts";
import { readPreview, renderReview } from "../../provider/review.ts";
import { REPO_ROOT } from "../helpers/pulumi.ts";

const fixture = (name: string) => readFileSync(join(REPO_ROOT, "test", "fixtures", "review", name), "utf8");
const AUDIENCE = resourceType("Audience");
const urn = (type: string, name: string) => `urn:pulumi:dev::proj::${type}::${name}`;
const audience = (name: string, definition: string, extra: Record<string, unknown> = {}) => ({ owner: "acme", app: "ios", name, definition, ...extra });
const pre = (op: string, type: string, name: string, old?: object, updated?: object) =>
  JSON.stringify({ sequence: 1, timestamp: 1, resourcePreEvent: { metadata: { op, urn: urn(type, name), type, ...(old ? { old } : {}), ...(updated ? { new: updated } : {}) } } });
const diagnostic = (message: string, severity = "info#err") => JSON.stringify({ sequence: 2, timestamp: 1, diagnosticEvent: { message: `${message}\n\n`, severity } });
const summary = (result: string) => JSON.stringify({ sequence: 3, timestamp: 1, summaryEvent: { result, isPreview: true } });
const review = (...lines: string[]) => renderReview([readPreview("dev", lines.join("\n"))]);

describe("pushplane review of real previews", () => {
  it("renders a widened audience over the send limit and a stack stopped by mandatory policies as the expected Markdown", () => {
    const rendered = renderReview([readPreview("audiences", fixture("widened.jsonl")), readPreview("exports", fixture("leaky-exports.jsonl"))]);
    expect(rendered).toBe(fixture("expected.md"));
  });

  it("reads the same whatever order the engine reported steps and policy events in", () => {
    const lines = fixture("leaky-exports.jsonl").trimEnd().split("\n");
    const summaryLast = (order: string[]) => [...order.filter((line) => !line.includes("summaryEvent")), ...order.filter((line) => line.includes("summaryEvent"))];
    const reversed = summaryLast([...lines].reverse());
    expect(renderReview([readPreview("exports", reversed.join("\n"))])).toBe(renderReview([readPreview("exports", lines.join("\n"))]));
  });

  it("is what the command prints, stacks named on the command line", () => {
    let printed = "";
    const code = main(["review", `audiences=${join(REPO_ROOT, "test/fixtures/review/widened.jsonl")}`, `exports=${join(REPO_ROOT, "test/fixtures/review/leaky-exports.jsonl")}`], (text) => (printed += text));
    expect(code).toBe(0);
    expect(printed).toBe(fixture("expected.md"));
  });
});

describe("each kind of audience change", () => {
  it("narrowed, deleted, adopted and created, with devices before → after and the changed terms marked", () => {
    const rendered = review(
      pre("update", AUDIENCE, "narrow", { inputs: audience("narrow", "locale eq 'fr' or locale eq 'de'"), outputs: { estimatedCount: 900 } }, { inputs: audience("narrow", "locale eq 'fr'") }),
      diagnostic("acme/ios narrow: 900 → ~400 devices (−500)"),
      pre("delete", AUDIENCE, "gone", { inputs: audience("gone", "model eq 'X'"), outputs: { estimatedCount: 12 } }),
      pre("create", AUDIENCE, "taken", undefined, { inputs: audience("taken", "locale eq 'it'", { adopt: true }) }),
      diagnostic(adoptionLine("acme/ios taken", [{ field: "definition", was: "locale eq 'it' or model eq 'say \"hi\"'", becomes: "locale eq 'it'" }])),
      diagnostic("acme/ios taken: 30 → ~30 devices (+0)"),
      pre("create", AUDIENCE, "fresh", undefined, { inputs: audience("fresh", "locale eq 'es'") }),
      diagnostic("acme/ios fresh (new): ~1,200 devices"),
      summary("succeeded"),
    );
    expect(rendered.split("\n")[0]).toBe("**pushplane review: ✅ 1 audience(s) created, 1 audience(s) adopted, 1 audience(s) narrowed (−500 devices), 1 audience(s) deleted (−12 devices)**");
    expect(rendered).toContain("- **narrowed** `acme/ios narrow`: 900 → ~400 devices (−500)\n  ```diff\n  - locale eq 'fr' or «locale eq 'de'»\n  + locale eq 'fr'\n  ```");
    expect(rendered).toContain("- **deleted** `acme/ios gone`: 12 → 0 devices (−12)\n  ```diff\n  - model eq 'X'\n  ```");
    // The definition the adopted audience had comes from the provider's adoption line.
    expect(rendered).toContain("- **adopted** `acme/ios taken`: 30 → ~30 devices (+0)\n  ```diff\n  - locale eq 'it' or «model eq 'say \"hi\"'»\n  + locale eq 'it'\n  ```");
    expect(rendered).toContain("- **created** `acme/ios fresh`: ~1,200 devices — ⚠️ over the send limit of 1,000 devices (seeds: Using the Push API)");
  });

  it("shows a change besides the definition (a description, enabled), the size unchanged, and the program's warnings", () => {
    const rendered = review(
      pre("update", AUDIENCE, "quiet", { inputs: audience("quiet", "locale eq 'fr'", { description: "old" }), outputs: { estimatedCount: 40 } }, { inputs: audience("quiet", "locale eq 'fr'", { description: "new", enabled: false }) }),
      diagnostic("warning: pushplane:sasMaxLifetimeDays is deprecated: …", "warning"),
      summary("succeeded"),
    );
    expect(rendered).toContain('- **changed** `acme/ios quiet`: 40 devices, unchanged (the definition is the same)\n  ```diff\n    locale eq \'fr\'\n  ```\n  - description "old" → "new"\n  - enabled null → false');
    expect(rendered).toContain("#### Warnings\n\n- pushplane:sasMaxLifetimeDays is deprecated: …");
  });

  it("reads the plain `pulumi preview --json` digest too, saying that it holds no policy violations", () => {
    const digest = {
      steps: [{ op: "update", urn: urn(AUDIENCE, "us"), oldState: { type: AUDIENCE, inputs: audience("us", "locale eq 'en'"), outputs: { estimatedCount: 10 } }, newState: { type: AUDIENCE, inputs: audience("us", "locale eq 'en' or locale eq 'fr'") } }],
      diagnostics: [{ message: "acme/ios us: 10 → ~25 devices (+15)\n", severity: "info#err" }],
      changeSummary: { update: 1 },
    };
    const rendered = renderReview([readPreview("dev", JSON.stringify(digest))]);
    expect(rendered).toContain("- **widened** `acme/ios us`: 10 → ~25 devices (+15)");
    expect(rendered).toContain("policy violations: the plain `pulumi preview --json` leaves them out");
  });
});

describe("what it cannot read is said, not dropped", () => {
  it("an empty preview", () => {
    const rendered = review("");
    expect(rendered.split("\n")[0]).toBe("**pushplane review: ✅ no changes**");
    expect(rendered).toContain("the preview is empty (no JSON at all)");
  });

  it("lines that are not JSON, events and fields of another Pulumi version, resource types that are not pushplane's", () => {
    const rendered = review(
      "Previewing update (dev):",
      JSON.stringify({ sequence: 1, hologramEvent: { x: 1 } }),
      JSON.stringify({ sequence: 2, resourcePreEvent: { metadata: { op: "create", urn: urn("random:index:RandomString", "salt"), type: "random:index:RandomString", new: { inputs: {} }, blastRadius: 3 } } }),
      "{ truncated",
    );
    expect(rendered).toContain("- create `salt` (`random:index:RandomString`, not a pushplane resource)");
    expect(rendered).toContain("2 line(s) that are not JSON (line 1, 4)");
    expect(rendered).toContain("1 event(s) of a kind this version does not know: hologramEvent");
    expect(rendered).toContain("fields this version does not read: resourcePreEvent.metadata.blastRadius");
  });

  it("a preview that failed, with its reasons", () => {
    const rendered = review(
      pre("update", AUDIENCE, "us", { inputs: audience("us", "locale eq 'en'"), outputs: {} }, { inputs: audience("us", "locale eq") }),
      diagnostic("error: definition: expected a value after 'eq'", "error"),
      diagnostic("error: preview failed", "error"),
      summary("failed"),
    );
    expect(rendered.split("\n")[0]).toBe("**pushplane review: ❌ the preview failed in `dev`** — 1 audience(s) changed");
    // The engine's closing "preview failed" is not a reason of its own.
    expect(rendered).toContain("**The preview failed.**\n\n- definition: expected a value after 'eq'\n\n");
    // The definition that does not parse is shown as written.
    expect(rendered).toContain("  - locale eq 'en'\n  + locale eq\n");
  });

  it("a file that cannot be read", () => {
    let printed = "";
    main(["review", join(mkdtempSync(join(tmpdir(), "review-")), "missing.json")], (text) => (printed += text));
    expect(printed).toContain("the file could not be read: ENOENT");
  });

  it("a stack named from its file when no name is given", () => {
    const path = join(mkdtempSync(join(tmpdir(), "review-")), "prod.json");
    writeFileSync(path, summary("succeeded"));
    let printed = "";
    main(["review", path], (text) => (printed += text));
    expect(printed).toContain("### Stack `prod`");
  });
});
