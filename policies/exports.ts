// Export policies: the organization's guardrails on where exported personal data goes and who can
// reach it — least-privilege, short-lived export tokens; export retention short enough that an
// erasure reaches exported copies; data export tokens that do not outlive their purpose.
// Each bound is policy config, so a privacy team sets it once for every stack in CI.
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { PropsOf } from "./props.ts";
import { guardrailSchema, LIMITS, parseSasPermissions, resourceType, SAS_PERMISSION_NAMES, shortestInterval, STORAGE_DEFAULTS, type GuardrailConfig, type Limit } from "../domain/index.ts";

export const SAS_TOKEN_TYPE = resourceType("ContainerSasToken");
export const CONTAINER_TYPE = resourceType("StorageContainer");
export const DATA_EXPORT_TOKEN_TYPE = resourceType("DataExportToken");
export const EXPORT_JOB_TYPE = resourceType("ExportJob");

const DAY = 86_400_000;

export const exportSasLeastPrivilege: ResourceValidationPolicy = {
  name: "export-sas-least-privilege",
  description:
    "A container SAS token grants only what writing exports needs (create and write unless configured), lives at most a configured number of days, and rotates before it expires.",
  enforcementLevel: "mandatory",
  configSchema: guardrailSchema("export-sas-least-privilege"),
  validateResource: (args, reportViolation) => {
    if (args.type !== SAS_TOKEN_TYPE) return;
    const { allowedPermissions, maxLifetimeDays } = args.getConfig<GuardrailConfig<"export-sas-least-privilege">>();
    const props = args.props as PropsOf<"ContainerSasToken">;
    const token = `ContainerSasToken '${args.name}'`;
    // Unknown at preview (computed from another resource) reads as undefined: the provider's defaults then apply.
    const permissions = parseSasPermissions(props.permissions ?? STORAGE_DEFAULTS.exportSasPermissions) ?? [];
    const excess = permissions.filter((letter) => !allowedPermissions.includes(letter));
    if (excess.length > 0) {
      reportViolation(
        `${token}: permissions '${props.permissions}' grant ${excess.map((letter) => `${SAS_PERMISSION_NAMES[letter]} (${letter})`).join(", ")} beyond '${allowedPermissions}' ` +
          `(policy config allowedPermissions): whoever holds the token could ${excess.some((l) => l === "r" || l === "l") ? "read the exported personal data" : "change or delete exports"}`,
      );
    }
    const lifetime = props.lifetimeDays ?? STORAGE_DEFAULTS.sasLifetimeDays;
    if (lifetime > maxLifetimeDays) reportViolation(`${token}: lifetimeDays must be at most ${maxLifetimeDays} (got ${lifetime}; policy config maxLifetimeDays): an ad-hoc SAS cannot be revoked before it expires`);
    if ((props.rotationDays ?? STORAGE_DEFAULTS.sasRotationDays) <= 0) {
      reportViolation(`${token}: rotationDays must be more than 0, or the token is replaced only after it expired and the exports that use it fail in between`);
    }
  },
};

export const exportRetentionBounded: ResourceValidationPolicy = {
  name: "export-retention-bounded",
  description: "An export container keeps exported copies at most a configured number of days, so an erasure reaches them in time.",
  enforcementLevel: "mandatory",
  configSchema: guardrailSchema("export-retention-bounded"),
  validateResource: (args, reportViolation) => {
    if (args.type !== CONTAINER_TYPE) return;
    const { maxRetentionDays } = args.getConfig<GuardrailConfig<"export-retention-bounded">>();
    const retention = (args.props as PropsOf<"StorageContainer">).retentionDays ?? STORAGE_DEFAULTS.retentionDays;
    if (retention > maxRetentionDays) {
      reportViolation(
        `StorageContainer '${args.name}': retentionDays must be at most ${maxRetentionDays} (got ${retention}; policy config maxRetentionDays): ` +
          `a deleted user's data would stay in exported copies for ${retention} days`,
      );
    }
  },
};

export const dataExportTokenLifetime: ResourceValidationPolicy = {
  name: "data-export-token-lifetime",
  description: "A data export token (broadcast metrics) expires within a configured number of days; the platform allows six months.",
  enforcementLevel: "mandatory",
  configSchema: guardrailSchema("data-export-token-lifetime"),
  validateResource: (args, reportViolation) => {
    if (args.type !== DATA_EXPORT_TOKEN_TYPE) return;
    const { maxLifetimeDays } = args.getConfig<GuardrailConfig<"data-export-token-lifetime">>();
    const props = args.props as PropsOf<"DataExportToken">;
    const days = typeof props.expiresAt === "string" ? (Date.parse(props.expiresAt) - Date.now()) / DAY : props.lifetimeDays;
    if (days !== undefined && days > maxLifetimeDays) {
      reportViolation(`DataExportToken '${args.name}': it must expire within ${maxLifetimeDays} days (it lives ${Math.ceil(days)}; policy config maxLifetimeDays)`);
    }
  },
};

export const exportJobWindows: ResourceValidationPolicy = {
  name: "export-job-windows",
  description: `An export job's window stays within the platform's: raw events at most ${LIMITS.rawEventExportWindowDays.value} days (${LIMITS.rawEventExportWindowDays.source}), broadcast metrics at most ${LIMITS.broadcastMetricsStartDaysBack.value} days back (${LIMITS.broadcastMetricsStartDaysBack.source}).`,
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== EXPORT_JOB_TYPE) return;
    const props = args.props as PropsOf<"ExportJob">;
    const within = (field: string, days: number | undefined, limit: Limit) => {
      if (typeof days === "number" && days > limit.value) reportViolation(`ExportJob '${args.name}': ${field} must be at most ${limit.value} (got ${days}; ${limit.source})`);
    };
    within("rawEvents.windowDays", props.rawEvents?.windowDays, LIMITS.rawEventExportWindowDays);
    within("broadcastMetrics.windowDays", props.broadcastMetrics?.windowDays, LIMITS.broadcastMetricsStartDaysBack);
  },
};

export const exportUsersByIdLimit: ResourceValidationPolicy = {
  name: "export-users-by-id-limit",
  description: `A users-by-id export job names at most a configured number of user ids (the platform's ${LIMITS.usersExportExternalIds.value} by default, ${LIMITS.usersExportExternalIds.source}): a longer list is an audience, exported as a segment.`,
  enforcementLevel: "mandatory",
  configSchema: guardrailSchema("export-users-by-id-limit"),
  validateResource: (args, reportViolation) => {
    if (args.type !== EXPORT_JOB_TYPE) return;
    const { maxIds } = args.getConfig<GuardrailConfig<"export-users-by-id-limit">>();
    const ids = (args.props as PropsOf<"ExportJob">).usersById?.externalIds;
    // Unknown at preview (computed from another resource): nothing to count yet.
    if (!Array.isArray(ids) || ids.length <= maxIds) return;
    reportViolation(`ExportJob '${args.name}': usersById.externalIds names ${ids.length} users, at most ${maxIds} (policy config maxIds; ${LIMITS.usersExportExternalIds.source} allows ${LIMITS.usersExportExternalIds.value}); export an audience as a segment instead`);
  },
};

export const exportScheduleInterval: ResourceValidationPolicy = {
  name: "export-schedule-interval",
  description: "A scheduled export job runs at most as often as a configured minimum interval allows (an hour by default): each run is another copy of personal data.",
  enforcementLevel: "mandatory",
  configSchema: guardrailSchema("export-schedule-interval"),
  validateResource: (args, reportViolation) => {
    if (args.type !== EXPORT_JOB_TYPE) return;
    const { minIntervalMinutes } = args.getConfig<GuardrailConfig<"export-schedule-interval">>();
    const schedule = (args.props as PropsOf<"ExportJob">).schedule;
    // One-off, or unknown at preview: nothing to check (an invalid schedule is the provider's to refuse).
    if (typeof schedule !== "string") return;
    const shortest = shortestInterval(schedule, new Date());
    if (shortest !== null && shortest < minIntervalMinutes) {
      reportViolation(`ExportJob '${args.name}': schedule '${schedule}' runs every ${shortest} minute(s) at the shortest; at least ${minIntervalMinutes} minutes between runs (policy config minIntervalMinutes)`);
    }
  },
};

export const containerPrivate: StackValidationPolicy = {
  name: "container-private",
  description: "An export container allows no anonymous reads: one someone opened (its publicAccess, as read by refresh) fails until `up` closes it.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const resource of args.resources) {
      if (resource.type !== CONTAINER_TYPE) continue;
      const publicAccess = (resource.props as { publicAccess?: unknown }).publicAccess;
      if (typeof publicAccess === "string" && publicAccess !== "none") {
        reportViolation(`StorageContainer '${resource.name}': anyone can read its exported personal data (publicAccess '${publicAccess}'); run pulumi up, which closes it`, resource.urn);
      }
    }
  },
};
