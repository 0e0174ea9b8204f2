// The line a preview shows for an audience whose definition is created or changed — its size now
// and after — written by the provider and read back by `pushplane review` (provider/review.ts):
// `acme/ios us-users: 1,542 → ~1,802 devices (+260)` or `acme/ios us-users (new): ~1,802 devices`.
import { HIDDEN_INPUTS } from "./hidden-inputs.ts";

/**
 * The provider's estimate of a created, redefined, moved or re-enabled audience's devices (a
 * number), or why it could not make one (a sentence), kept by its check as this hidden input so the
 * policy pack (audience-send-limit) judges the number the preview shows. Not an input of the
 * Audience: no diff compares it.
 */
export const ESTIMATE_INPUT = HIDDEN_INPUTS.estimatedDevices;

/** An audience's place in a preview line: `owner/app name`. */
export const impactLabel = (app: string, name: string) => `${app} ${name}`;

/** A number of devices as lines and reviews write it: `1,542`. */
export const deviceCount = (n: number) => n.toLocaleString("en-US");

/** `1,542 → ~1,802 devices (+260)`, or `~1,802 devices` when there was no audience before. */
export function sizeChange(before: number | undefined, after: number): string {
  if (before === undefined) return `~${deviceCount(after)} devices`;
  const delta = after - before;
  return `${deviceCount(before)} → ~${deviceCount(after)} devices (${delta >= 0 ? "+" : "−"}${deviceCount(Math.abs(delta))})`;
}

export function impactLine(label: string, before: number | undefined, after: number): string {
  return before === undefined ? `${label} (new): ${sizeChange(before, after)}` : `${label}: ${sizeChange(before, after)}`;
}

export interface Impact {
  /** `owner/app`. */
  app: string;
  name: string;
  /** Undefined for a new audience. */
  before: number | undefined;
  after: number;
}

const NUMBER = "([0-9][0-9,]*)";
const LABEL = "(\\S+/\\S+) (\\S+)";
const CHANGED = new RegExp(`^${LABEL}: ${NUMBER} → ~${NUMBER} devices \\([+−][0-9,]+\\)$`);
const CREATED = new RegExp(`^${LABEL} \\(new\\): ~${NUMBER} devices$`);
const numberOf = (text: string) => Number(text.replaceAll(",", ""));

/** The impact a preview line states, or undefined for any other line. */
export function parseImpactLine(line: string): Impact | undefined {
  const text = line.trim();
  const changed = CHANGED.exec(text);
  if (changed) return { app: changed[1]!, name: changed[2]!, before: numberOf(changed[3]!), after: numberOf(changed[4]!) };
  const created = CREATED.exec(text);
  if (created) return { app: created[1]!, name: created[2]!, before: undefined, after: numberOf(created[3]!) };
  return undefined;
}

/**
 * The line a preview shows for an audience a stack takes over (`adopt: true`), with what changes in
 * it: `acme/ios vip: adopts the audience that exists (not a new one): definition "a" → "b"`. The
 * review reads the definition the audience had from it (a create step has no old state).
 */
export function adoptionLine(label: string, changes: readonly { field: string; was: string; becomes: string }[]): string {
  const said = changes.map(({ field, was, becomes }) => `${field} ${JSON.stringify(was)} → ${JSON.stringify(becomes)}`).join("; ");
  return `${label}: adopts the audience that exists (not a new one): ${changes.length === 0 ? "nothing in it changes" : said}`;
}

const ADOPTED = new RegExp(`^${LABEL}: adopts the audience that exists \\(not a new one\\): (.*)$`);
const DEFINITION_CHANGE = /(?:^|; )definition ("(?:[^"\\]|\\.)*") → /;

/** The audience an adoption line names and the definition it had, or undefined for any other line. */
export function parseAdoptionLine(line: string): { app: string; name: string; definitionBefore: string | undefined } | undefined {
  const adopted = ADOPTED.exec(line.trim());
  if (!adopted) return undefined;
  const definition = DEFINITION_CHANGE.exec(adopted[3]!);
  return { app: adopted[1]!, name: adopted[2]!, definitionBefore: definition ? (JSON.parse(definition[1]!) as string) : undefined };
}
