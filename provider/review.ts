// `pushplane review`: turns the previews of one or several stacks into Markdown for a pull request —
// a one-line verdict; per audience created, adopted, widened, narrowed, changed or deleted, its
// normalized definition before and after with the changed terms marked and its estimated devices
// before → after (the provider's impact lines, domain/impact.ts); exports, tokens and containers
// in one table; the policy violations. It reads Pulumi's streaming JSON preview (engine events,
// `PULUMI_ENABLE_STREAMING_JSON_PREVIEW=1 pulumi preview --json`: the only JSON that carries
// policy violations) and the plain `pulumi preview --json` digest. What it cannot read — lines that
// are not JSON, events, fields and resource types it does not know — is listed, never dropped.
import { deviceCount as count, LIMITS, markChangedTerms, parseAdoptionLine, parseImpactLine, RESOURCE_KINDS, resourceType, sizeChange, type Impact, type ResourceKind } from "../domain/index.ts";

type Adoption = NonNullable<ReturnType<typeof parseAdoptionLine>>;

/** A resource's inputs and outputs on one side of a step. */
interface Side {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

interface Step {
  op: string;
  urn: string;
  type: string;
  old: Side | undefined;
  new: Side | undefined;
}

interface Violation {
  urn: string | undefined;
  policy: string;
  level: string;
  message: string;
}

/** One stack's preview, as read. */
export interface StackPreview {
  stack: string;
  steps: Step[];
  impacts: Impact[];
  /** Audiences a create takes over, with the definition they had (the provider's adoption line). */
  adoptions: Adoption[];
  errors: string[];
  /** What the program or the engine warned about (a deprecated key, a misspelled one). */
  warnings: string[];
  violations: Violation[];
  failed: boolean;
  /** What could not be read, in sentences. */
  unread: string[];
}

const EVENT_KINDS_READ = new Set(["resourcePreEvent", "diagnosticEvent", "policyEvent", "summaryEvent"]);
/** Events that say nothing a review shows (progress, summaries of passed policies, outputs after the fact). */
const EVENT_KINDS_SKIPPED = new Set([
  "preludeEvent",
  "cancelEvent",
  "policyLoadEvent",
  "policyRemediateSummaryEvent",
  "policyAnalyzeSummaryEvent",
  "policyAnalyzeStackSummaryEvent",
  "policyRemediationEvent",
  "resOutputsEvent",
  "resOpFailedEvent",
  "stdoutEvent",
  "progressEvent",
  "startDebuggingEvent",
]);
const STEP_FIELDS = new Set(["op", "urn", "type", "old", "new", "detailedDiff", "diffs", "keys", "logical", "provider", "oldState", "newState", "diffReasons", "replaceReasons", "retainOnDelete", "protect"]);
const DIGEST_FIELDS = new Set(["config", "steps", "diagnostics", "duration", "changeSummary", "outputs", "permalink"]);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const sideOf = (state: unknown): Side | undefined =>
  isObject(state) ? { inputs: isObject(state.inputs) ? state.inputs : {}, outputs: isObject(state.outputs) ? state.outputs : {} } : undefined;

/** Reads one stack's preview from the text of either JSON form. */
export function readPreview(stack: string, text: string): StackPreview {
  const preview: StackPreview = { stack, steps: [], impacts: [], adoptions: [], warnings: [], errors: [], violations: [], failed: false, unread: [] };
  if (text.trim() === "") {
    preview.unread.push("the preview is empty (no JSON at all): did `pulumi preview --json` run?");
    return preview;
  }
  const unknownEvents = new Map<string, number>();
  const unknownFields = new Set<string>();
  const step = (raw: Record<string, unknown>, where: string) => {
    for (const field of Object.keys(raw)) if (!STEP_FIELDS.has(field)) unknownFields.add(`${where}.${field}`);
    const old = sideOf(raw.old ?? raw.oldState);
    const updated = sideOf(raw.new ?? raw.newState);
    const urn = typeof raw.urn === "string" ? raw.urn : "";
    const typeOfState = (state: unknown) => (isObject(state) && typeof state.type === "string" ? state.type : undefined);
    const type = typeof raw.type === "string" ? raw.type : (typeOfState(raw.new ?? raw.newState) ?? typeOfState(raw.old ?? raw.oldState) ?? urn.split("::")[2] ?? "");
    preview.steps.push({ op: String(raw.op ?? "?"), urn, type, old, new: updated });
  };
  const diagnostic = (raw: Record<string, unknown>) => {
    const message = String(raw.message ?? "").trim();
    const impact = parseImpactLine(message);
    const adoption = impact ? undefined : parseAdoptionLine(message);
    if (impact) preview.impacts.push(impact);
    else if (adoption) preview.adoptions.push(adoption);
    else if (raw.severity === "error" && raw.prefix !== "debug: ") preview.errors.push(message.replace(/^error: /, ""));
    else if (raw.severity === "warning" && !preview.warnings.includes(message.replace(/^warning: /, ""))) preview.warnings.push(message.replace(/^warning: /, ""));
  };

  let digest: unknown;
  try {
    digest = JSON.parse(text);
  } catch {
    digest = undefined;
  }
  if (isObject(digest) && Array.isArray(digest.steps)) {
    for (const field of Object.keys(digest)) if (!DIGEST_FIELDS.has(field)) unknownFields.add(field);
    digest.steps.filter(isObject).forEach((raw) => step(raw, "steps[]"));
    if (Array.isArray(digest.diagnostics)) digest.diagnostics.filter(isObject).forEach(diagnostic);
    preview.failed = preview.errors.length > 0;
    preview.unread.push("policy violations: the plain `pulumi preview --json` leaves them out; set PULUMI_ENABLE_STREAMING_JSON_PREVIEW=1 to have them");
  } else {
    const badLines: number[] = [];
    text.split("\n").forEach((line, index) => {
      if (line.trim() === "") return;
      let event: unknown;
      try {
        event = JSON.parse(line);
      } catch {
        badLines.push(index + 1);
        return;
      }
      if (!isObject(event)) return void badLines.push(index + 1);
      const kinds = Object.keys(event).filter((key) => key !== "sequence" && key !== "timestamp");
      for (const kind of kinds) {
        const body = event[kind];
        if (!EVENT_KINDS_READ.has(kind)) {
          if (!EVENT_KINDS_SKIPPED.has(kind)) unknownEvents.set(kind, (unknownEvents.get(kind) ?? 0) + 1);
          continue;
        }
        if (!isObject(body)) continue;
        if (kind === "resourcePreEvent" && isObject(body.metadata)) step(body.metadata, "resourcePreEvent.metadata");
        else if (kind === "diagnosticEvent") diagnostic(body);
        else if (kind === "policyEvent") {
          // The message is the policy's description, then the violation.
          const lines = String(body.message ?? "").trim().split("\n");
          preview.violations.push({
            urn: typeof body.resourceUrn === "string" ? body.resourceUrn : undefined,
            policy: String(body.policyName ?? "?"),
            level: String(body.enforcementLevel ?? "?"),
            message: lines.length > 1 ? lines.slice(1).join(" ") : lines[0]!,
          });
        } else if (kind === "summaryEvent") preview.failed ||= body.result === "failed";
      }
    });
    if (badLines.length > 0) preview.unread.push(`${badLines.length} line(s) that are not JSON (line ${badLines.slice(0, 5).join(", ")}${badLines.length > 5 ? ", …" : ""})`);
    preview.failed ||= preview.errors.length > 0;
  }
  for (const [kind, count] of unknownEvents) preview.unread.push(`${count} event(s) of a kind this version does not know: ${kind}`);
  if (unknownFields.size > 0) preview.unread.push(`fields this version does not read: ${[...unknownFields].sort().join(", ")}`);
  return preview;
}

// ---- rendering ----

const KIND_OF_TYPE = new Map(RESOURCE_KINDS.map((kind) => [resourceType(kind), kind]));
const nameOf = (urn: string) => urn.split("::").at(-1) ?? urn;
/** Text safe inside a Markdown table cell. */
const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** What happens to an audience, in the order a review lists them (new reach first, lost reach last). */
const AUDIENCE_CHANGES = ["created", "adopted", "widened", "narrowed", "changed", "replaced", "deleted"] as const;
type AudienceChange = (typeof AUDIENCE_CHANGES)[number];

/** The engine reports steps and policy events in whatever order its parallel work finishes: a review sorts them, so the same change reads the same. */
const byChangeThenLabel = (a: AudienceRow, b: AudienceRow) => AUDIENCE_CHANGES.indexOf(a.change) - AUDIENCE_CHANGES.indexOf(b.change) || a.label.localeCompare(b.label);
const byName = (a: Step, b: Step) => nameOf(a.urn).localeCompare(nameOf(b.urn)) || a.urn.localeCompare(b.urn);
const byLevelPolicyResource = (a: Violation, b: Violation) =>
  Number(b.level === "mandatory") - Number(a.level === "mandatory") || a.policy.localeCompare(b.policy) || (a.urn ?? "").localeCompare(b.urn ?? "") || a.message.localeCompare(b.message);

interface AudienceRow {
  change: AudienceChange;
  label: string;
  before: number | undefined;
  after: number | undefined;
  definitions: { before: string | undefined; after: string | undefined };
  /** Inputs besides the definition that change (description, enabled, customProperties), as `field "a" → "b"`. */
  otherChanges: string[];
}

function audienceRow(step: Step, impacts: Impact[], adoptions: Adoption[]): AudienceRow | undefined {
  const inputs = step.new?.inputs ?? step.old?.inputs ?? {};
  const name = String(inputs.name ?? nameOf(step.urn));
  const app = inputs.owner && inputs.app ? `${String(inputs.owner)}/${String(inputs.app)}` : undefined;
  const impact = impacts.find((one) => one.name === name && (app === undefined || one.app === app));
  const label = `${impact?.app ?? app ?? "(the stack's app)"} ${name}`;
  const oldCount = typeof step.old?.outputs.estimatedCount === "number" ? step.old.outputs.estimatedCount : undefined;
  const adopted = step.op === "create" ? adoptions.find((one) => one.name === name && (app === undefined || one.app === app)) : undefined;
  const oldDefinition = step.old ? String(step.old.inputs.definition ?? step.old.outputs.definition ?? "") : adopted?.definitionBefore;
  const newDefinition = step.new && step.op !== "delete" ? String(step.new.inputs.definition ?? "") : undefined;
  const definitions = markChangedTerms(oldDefinition, newDefinition);
  const otherChanges =
    step.old && step.new && step.op !== "delete"
      ? OTHER_AUDIENCE_INPUTS.flatMap((field) => {
          const [was, becomes] = [JSON.stringify(step.old!.inputs[field] ?? null), JSON.stringify(step.new!.inputs[field] ?? null)];
          return was === becomes ? [] : [`${field} ${was} → ${becomes}`];
        })
      : [];
  switch (step.op) {
    case "create":
      // adopt: true over nothing is a plain create: adopted only when the audience existed (its size before, or the adoption line).
      return { change: inputs.adopt === true && (adopted !== undefined || impact?.before !== undefined) ? "adopted" : "created", label, before: impact?.before, after: impact?.after, definitions, otherChanges };
    case "delete":
      return { change: "deleted", label, before: oldCount, after: 0, definitions, otherChanges };
    case "update":
    case "replace":
    case "create-replacement": {
      const before = impact?.before ?? oldCount;
      const after = impact?.after;
      const change: AudienceChange =
        step.op !== "update" ? "replaced" : before !== undefined && after !== undefined && after !== before ? (after > before ? "widened" : "narrowed") : "changed";
      return { change, label, before, after, definitions, otherChanges };
    }
    default:
      return undefined;
  }
}

const devicesText = ({ change, before, after, definitions }: AudienceRow) => {
  // Exact, not an estimate: a deleted audience holds no one.
  if (change === "deleted") return before === undefined ? "deleted" : `${count(before)} → 0 devices (−${count(before)})`;
  if (after === undefined && definitions.before !== undefined && definitions.before === definitions.after) {
    return before === undefined ? "whom it selects is unchanged" : `${count(before)} devices, unchanged (the definition is the same)`;
  }
  if (after === undefined) return before === undefined ? "size not estimated" : `${count(before)} devices now; size after not estimated`;
  return sizeChange(before, after);
};

/** An audience's inputs a reviewer is shown besides its definition when they change. */
const OTHER_AUDIENCE_INPUTS = ["description", "enabled", "customProperties"] as const;

/** The inputs a reviewer reads first, per kind (never a secret: those arrive as "[secret]" anyway). */
const SUMMARY_INPUTS: Partial<Record<ResourceKind, readonly string[]>> = {
  ExportJob: ["kind", "schedule", "prefix"],
  ContainerSasToken: ["containerName", "permissions", "lifetimeDays", "rotationDays"],
  StorageContainer: ["name", "retentionDays"],
  DataExportToken: ["dataset", "bundleId", "lifetimeDays"],
  DataSubjectRequest: ["kind"],
  ExportConfiguration: ["exportEntities", "enabled"],
  PushConfig: ["type"],
};

function renderStack(preview: StackPreview, lines: string[]): void {
  lines.push(`### Stack \`${preview.stack}\``, "");
  if (preview.failed) {
    const reasons = ownErrors(preview);
    if (reasons.length === 0 && preview.violations.some((v) => v.level === "mandatory")) lines.push("**The preview failed on the mandatory policy violations below.**", "");
    else {
      lines.push(`**The preview failed.**${reasons.length > 0 ? "" : " (No reason was in the preview.)"}`, "");
      for (const error of reasons) lines.push(`- ${error}`);
      if (reasons.length > 0) lines.push("");
    }
  }
  const changed = preview.steps.filter((step) => step.op !== "same" && step.op !== "read" && step.op !== "refresh").sort(byName);
  const audiences = changed.filter((step) => KIND_OF_TYPE.get(step.type) === "Audience");
  const others = changed.filter((step) => KIND_OF_TYPE.has(step.type) && KIND_OF_TYPE.get(step.type) !== "Audience");
  const foreign = changed.filter((step) => !KIND_OF_TYPE.has(step.type) && !step.type.startsWith("pulumi:"));

  if (audiences.length > 0) {
    lines.push("#### Audiences", "");
    const rows = audiences.map((step) => ({ step, row: audienceRow(step, preview.impacts, preview.adoptions) }));
    // Rows the review could not classify last, in name order.
    rows.sort((a, b) => (a.row && b.row ? byChangeThenLabel(a.row, b.row) : Number(!a.row) - Number(!b.row) || byName(a.step, b.step)));
    for (const { step, row } of rows) {
      if (!row) {
        lines.push(`- **${step.op}** \`${nameOf(step.urn)}\``);
        continue;
      }
      const overLimit = row.after !== undefined && row.after > LIMITS.devicesPerAudience.value ? ` — ⚠️ over the send limit of ${count(LIMITS.devicesPerAudience.value)} devices (${LIMITS.devicesPerAudience.source})` : "";
      lines.push(`- **${row.change}** \`${row.label}\`: ${devicesText(row)}${overLimit}`);
      const { before, after } = row.definitions;
      if (before !== undefined || after !== undefined) {
        lines.push("  ```diff");
        if (before !== undefined && before !== after) lines.push(`  - ${before}`);
        if (after !== undefined && after !== before) lines.push(`  + ${after}`);
        if (before !== undefined && before === after) lines.push(`    ${before}`);
        lines.push("  ```");
      }
      for (const other of row.otherChanges) lines.push(`  - ${other}`);
    }
    lines.push("");
  }
  if (others.length > 0) {
    lines.push("#### Exports, tokens and containers", "", "| resource | kind | change | inputs |", "|---|---|---|---|");
    for (const step of others) {
      const kind = KIND_OF_TYPE.get(step.type)!;
      const inputs = step.new?.inputs ?? step.old?.inputs ?? {};
      const shown = (SUMMARY_INPUTS[kind] ?? [])
        .filter((field) => inputs[field] !== undefined)
        .map((field) => `${field}: ${typeof inputs[field] === "string" ? inputs[field] : JSON.stringify(inputs[field])}`);
      lines.push(`| \`${cell(nameOf(step.urn))}\` | ${kind} | ${step.op} | ${cell(shown.join("; ") || "—")} |`);
    }
    lines.push("");
  }
  if (foreign.length > 0) {
    lines.push("#### Other resources", "");
    for (const step of foreign) lines.push(`- ${step.op} \`${nameOf(step.urn)}\` (\`${step.type}\`, not a pushplane resource)`);
    lines.push("");
  }
  if (preview.warnings.length > 0) {
    lines.push("#### Warnings", "");
    for (const warning of preview.warnings) lines.push(`- ${warning}`);
    lines.push("");
  }
  if (preview.violations.length > 0) {
    lines.push("#### Policy violations", "", "| level | policy | resource | message |", "|---|---|---|---|");
    for (const violation of [...preview.violations].sort(byLevelPolicyResource)) {
      lines.push(`| ${violation.level} | \`${violation.policy}\` | ${violation.urn ? `\`${cell(nameOf(violation.urn))}\`` : "the stack"} | ${cell(violation.message)} |`);
    }
    lines.push("");
  }
  if (changed.length === 0 && !preview.failed) lines.push("No changes.", "");
  if (preview.unread.length > 0) {
    lines.push("<details><summary>What this review could not read</summary>", "");
    for (const sentence of preview.unread) lines.push(`- ${sentence}`);
    lines.push("", "</details>", "");
  }
}

/** The errors that say why a preview failed, without the engine's closing "preview failed". */
const ownErrors = (preview: StackPreview) => preview.errors.filter((error) => error !== "preview failed");

/** The verdict: the one line a reviewer reads first. */
function verdict(previews: StackPreview[]): string {
  const mandatory = previews.flatMap((p) => p.violations).filter((v) => v.level === "mandatory").length;
  const advisory = previews.flatMap((p) => p.violations).filter((v) => v.level !== "mandatory").length;
  // A preview that failed for its policy violations alone is judged by them.
  const failed = previews.filter((p) => p.failed && (ownErrors(p).length > 0 || !p.violations.some((v) => v.level === "mandatory")));
  const rows = previews.flatMap((p) => p.steps.filter((s) => KIND_OF_TYPE.get(s.type) === "Audience").map((s) => audienceRow(s, p.impacts, p.adoptions)).filter((r): r is AudienceRow => r !== undefined));
  const others = previews.flatMap((p) => p.steps).filter((s) => KIND_OF_TYPE.has(s.type) && KIND_OF_TYPE.get(s.type) !== "Audience" && s.op !== "same" && s.op !== "read").length;
  const byChange = new Map<AudienceChange, AudienceRow[]>();
  for (const row of rows) byChange.set(row.change, [...(byChange.get(row.change) ?? []), row]);
  const delta = (list: AudienceRow[]) => list.reduce((sum, row) => sum + ((row.after ?? 0) - (row.before ?? 0)), 0);
  const parts = AUDIENCE_CHANGES.filter((change) => byChange.has(change)).map((change) => {
    const list = byChange.get(change)!;
    const total = change === "widened" || change === "narrowed" || change === "deleted" ? ` (${delta(list) >= 0 ? "+" : "−"}${count(Math.abs(delta(list)))} devices)` : "";
    return `${list.length} audience(s) ${change}${total}`;
  });
  if (others > 0) parts.push(`${others} export/token/container change(s)`);
  const what = parts.length > 0 ? parts.join(", ") : "no changes";
  const stacks = previews.length > 1 ? ` across ${previews.length} stacks` : "";
  if (failed.length > 0) return `**pushplane review: ❌ the preview failed in ${failed.map((p) => `\`${p.stack}\``).join(", ")}** — ${what}${stacks}`;
  if (mandatory > 0) return `**pushplane review: ❌ ${mandatory} mandatory policy violation(s): this change cannot be applied** — ${what}${stacks}`;
  return `**pushplane review: ✅ ${what}${stacks}${advisory > 0 ? `; ${advisory} advisory policy warning(s)` : ""}**`;
}

/** The Markdown for a pull request: a verdict, then each stack. */
export function renderReview(previews: StackPreview[]): string {
  const lines = [verdict(previews), ""];
  for (const preview of previews) renderStack(preview, lines);
  return `${lines.join("\n").trimEnd()}\n`;
}
