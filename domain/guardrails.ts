// The organization's guardrails, one table: every setting of the policy pack with its default and
// bounds, keyed by policy name. The pack serves each row as that policy's config schema (override it
// with `--policy-pack-config`), and the reference lists them from there. The provider enforces only
// the platform's hard limits (limits.ts, from the seeds and Azure); a stricter rule a team chooses
// lives here, so one rule has one default.
import { LIMITS } from "./limits.ts";
import { STORAGE_DEFAULTS } from "./storage.ts";

/** One setting, as a JSON-schema property (what `@pulumi/policy` takes as a config schema). */
export interface GuardrailSetting {
  readonly type: "string" | "number" | "integer";
  readonly default: string | number;
  readonly description: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly pattern?: string;
}

/** The most days `months` consecutive calendar months can hold (six: 184, July to December). */
function longestMonthsInDays(months: number): number {
  const DAY = 86_400_000;
  // Every start month over a leap-year cycle: the longest run wins.
  return Math.max(...Array.from({ length: 48 }, (_, i) => (Date.UTC(2024, i + months, 1) - Date.UTC(2024, i, 1)) / DAY));
}

/** Lowercase words joined by hyphens (kebab-case), as the seeds' examples name audiences. */
const KEBAB_CASE = "^[a-z0-9]+(-[a-z0-9]+)*$";

export const GUARDRAILS = {
  "audience-name-rules": {
    pattern: { type: "string", default: KEBAB_CASE, description: `A regular expression every audience name must match; default ${KEBAB_CASE} (kebab-case).` },
    maxLength: {
      type: "integer",
      default: LIMITS.audienceNameLength.value,
      minimum: 1,
      maximum: LIMITS.audienceNameLength.value,
      description: `Longest name in characters; default ${LIMITS.audienceNameLength.value}, the platform's own (${LIMITS.audienceNameLength.source}).`,
    },
  },
  "audiences-per-app-limit": {
    maxAudiencesPerApp: {
      type: "integer",
      default: LIMITS.audiencesPerApp.value,
      minimum: 0,
      maximum: LIMITS.audiencesPerApp.value,
      description: `Lower the platform limit for this organization; default ${LIMITS.audiencesPerApp.value}, the platform's own.`,
    },
  },
  "audience-send-limit": {
    maxDevices: {
      type: "integer",
      default: LIMITS.devicesPerAudience.value,
      minimum: 1,
      maximum: LIMITS.devicesPerAudience.value,
      description: `Most devices an audience may hold by the provider's estimate; default ${LIMITS.devicesPerAudience.value}, the platform's send limit (${LIMITS.devicesPerAudience.source}).`,
    },
  },
  "export-sas-least-privilege": {
    allowedPermissions: {
      type: "string",
      default: STORAGE_DEFAULTS.exportSasPermissions,
      pattern: "^[racwdl]*$",
      description: `SAS permission letters a token may hold (r a c w d l); default '${STORAGE_DEFAULTS.exportSasPermissions}', what exports need.`,
    },
    // Two weeks: a weekly export's token survives one missed `up` (tokens rotate only when `up` runs).
    maxLifetimeDays: { type: "number", default: 14, exclusiveMinimum: 0, description: "Longest token lifetime in days; default 14 (a weekly export's token survives one missed `up`)." },
  },
  "export-retention-bounded": {
    // GDPR Art. 12(3) gives a month to act on a request: an erasure must reach exported copies by then.
    maxRetentionDays: { type: "integer", default: 30, minimum: 1, description: "Longest retention of export blobs in days; default 30 (an erasure must reach copies within the month GDPR Art. 12(3) allows)." },
  },
  "data-export-token-lifetime": {
    maxLifetimeDays: {
      type: "number",
      default: 90,
      exclusiveMinimum: 0,
      // A setting cannot go past what the platform allows, however long those months are.
      maximum: longestMonthsInDays(LIMITS.dataExportTokenMonths.value),
      description: `Longest data export token lifetime in days; default 90, at most ${longestMonthsInDays(LIMITS.dataExportTokenMonths.value)} (the platform allows ${LIMITS.dataExportTokenMonths.value} months, ${LIMITS.dataExportTokenMonths.source}).`,
    },
  },
  "export-users-by-id-limit": {
    maxIds: {
      type: "integer",
      default: LIMITS.usersExportExternalIds.value,
      minimum: 1,
      maximum: LIMITS.usersExportExternalIds.value,
      description: `Most user ids one users-by-id export job may name; default ${LIMITS.usersExportExternalIds.value}, the platform's own (${LIMITS.usersExportExternalIds.source}).`,
    },
  },
  "export-schedule-interval": {
    // Each run is another copy of personal data: an export every few minutes makes more copies than anyone reads.
    minIntervalMinutes: { type: "number", default: 60, exclusiveMinimum: 0, description: "Shortest time between two runs of a job's schedule, in minutes; default 60." },
  },
} as const satisfies Record<string, Record<string, GuardrailSetting>>;

export type GuardrailPolicy = keyof typeof GUARDRAILS;

/** A policy's settings as `getConfig` returns them (defaults filled in by the engine). */
export type GuardrailConfig<P extends GuardrailPolicy> = {
  -readonly [K in keyof (typeof GUARDRAILS)[P]]: (typeof GUARDRAILS)[P][K] extends { type: "string" } ? string : number;
};

/** The config schema a policy declares: its row of the table. */
export const guardrailSchema = (policy: GuardrailPolicy) => ({ properties: GUARDRAILS[policy] as Record<string, GuardrailSetting> });
