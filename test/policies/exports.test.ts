import { describe, expect, it } from "vitest";
import type { PolicyResource, StackValidationArgs } from "@pulumi/policy";
import {
  containerPrivate,
  CONTAINER_TYPE,
  DATA_EXPORT_TOKEN_TYPE,
  dataExportTokenLifetime,
  EXPORT_JOB_TYPE,
  exportJobWindows,
  exportRetentionBounded,
  exportSasLeastPrivilege,
  exportScheduleInterval,
  exportUsersByIdLimit,
  SAS_TOKEN_TYPE,
} from "../../policies/exports.ts";
import { policies } from "../../policies/index.ts";
import { violations } from "./run.ts";

describe("export-sas-least-privilege", () => {
  const sas = (props: Record<string, unknown>, config?: Record<string, unknown>) => violations(exportSasLeastPrivilege, SAS_TOKEN_TYPE, props, config);
  const happy = { containerName: "exports", permissions: "cw", lifetimeDays: 7, rotationDays: 2 };
  it("passes a create+write token for a week", () => expect(sas(happy)).toEqual([]));
  it("passes the provider's defaults (props left out)", () => expect(sas({ containerName: "exports" })).toEqual([]));
  it("ignores other resource types", () => expect(violations(exportSasLeastPrivilege, CONTAINER_TYPE, { ...happy, permissions: "rl" })).toEqual([]));
  it("stops a token that can read or list the exports, naming the letters and the config", () => {
    expect(sas({ ...happy, permissions: "rcwl" })).toEqual([
      "ContainerSasToken 'x': permissions 'rcwl' grant read (r), list (l) beyond 'cw' (policy config allowedPermissions): whoever holds the token could read the exported personal data",
    ]);
  });
  it("stops delete, and allows what the config allows", () => {
    expect(sas({ ...happy, permissions: "cwd" })[0]).toContain("delete (d) beyond 'cw'");
    expect(sas({ ...happy, permissions: "acw" }, { allowedPermissions: "acw" })).toEqual([]);
  });
  it("stops a long-lived token and one that never rotates", () => {
    expect(sas({ ...happy, lifetimeDays: 30 })).toEqual(["ContainerSasToken 'x': lifetimeDays must be at most 14 (got 30; policy config maxLifetimeDays): an ad-hoc SAS cannot be revoked before it expires"]);
    expect(sas({ ...happy, lifetimeDays: 30 }, { maxLifetimeDays: 30 })).toEqual([]);
    expect(sas({ ...happy, rotationDays: 0 })[0]).toContain("rotationDays must be more than 0");
  });
});

describe("export-retention-bounded", () => {
  const container = (props: Record<string, unknown>, config?: Record<string, unknown>) => violations(exportRetentionBounded, CONTAINER_TYPE, props, config);
  it("passes 30 days and the default", () => {
    expect(container({ name: "exports", retentionDays: 30 })).toEqual([]);
    expect(container({ name: "exports" })).toEqual([]);
  });
  it("stops a retention that keeps erased users' data in exports, naming the limit", () => {
    expect(container({ name: "exports", retentionDays: 365 })).toEqual([
      "StorageContainer 'x': retentionDays must be at most 30 (got 365; policy config maxRetentionDays): a deleted user's data would stay in exported copies for 365 days",
    ]);
    expect(container({ name: "exports", retentionDays: 14 }, { maxRetentionDays: 7 })).toHaveLength(1);
  });
});

describe("data-export-token-lifetime", () => {
  const token = (props: Record<string, unknown>, config?: Record<string, unknown>) => violations(dataExportTokenLifetime, DATA_EXPORT_TOKEN_TYPE, props, config);
  it("passes 90 days, by lifetime or by date", () => {
    expect(token({ lifetimeDays: 90 })).toEqual([]);
    expect(token({ expiresAt: new Date(Date.now() + 89 * 86_400_000).toISOString() })).toEqual([]);
  });
  it("stops a token that lives longer than configured", () => {
    expect(token({ lifetimeDays: 180 })).toEqual(["DataExportToken 'x': it must expire within 90 days (it lives 180; policy config maxLifetimeDays)"]);
    expect(token({ expiresAt: new Date(Date.now() + 120 * 86_400_000).toISOString() })[0]).toContain("it lives 120");
    expect(token({ lifetimeDays: 30 }, { maxLifetimeDays: 14 })).toHaveLength(1);
  });
});

describe("export-job-windows", () => {
  const job = (props: Record<string, unknown>) => violations(exportJobWindows, EXPORT_JOB_TYPE, props);
  it("passes windows at the limits", () => {
    expect(job({ kind: "raw_event_export", rawEvents: { windowDays: 7 } })).toEqual([]);
    expect(job({ kind: "broadcast_metrics_export", broadcastMetrics: { bundleId: "b", windowDays: 30 } })).toEqual([]);
  });
  it("stops windows past them, naming the seed", () => {
    expect(job({ kind: "raw_event_export", rawEvents: { windowDays: 8 } })).toEqual(["ExportJob 'x': rawEvents.windowDays must be at most 7 (got 8; seeds: Braze export)"]);
    expect(job({ kind: "broadcast_metrics_export", broadcastMetrics: { windowDays: 31 } })).toEqual([
      "ExportJob 'x': broadcastMetrics.windowDays must be at most 30 (got 31; seeds: CloudKit broadcast-metrics export)",
    ]);
  });
});

describe("the pack", () => {
  it("registers every policy once", () => {
    expect(policies.map((policy) => policy.name)).toEqual([
      "audience-definition-valid",
      "audience-name-rules",
      "audiences-per-app-limit",
      "audience-send-limit",
      "export-sas-least-privilege",
      "export-retention-bounded",
      "container-private",
      "data-export-token-lifetime",
      "export-job-windows",
      "export-users-by-id-limit",
      "export-schedule-interval",
      "dsr-cleanup",
      "dsr-due-date",
      "config-credentials-secret",
      "config-endpoint-https",
    ]);
  });
});

describe("export-schedule-interval", () => {
  const job = (props: Record<string, unknown>, config?: Record<string, unknown>) => violations(exportScheduleInterval, EXPORT_JOB_TYPE, props, config);
  const happy = { kind: "device_export", schedule: "0 2 * * *", containerSasUrl: "https://a.blob.core.windows.net/c?sig=x" };
  it("passes a nightly job, a one-off job and an hourly one", () => {
    expect(job(happy)).toEqual([]);
    expect(job({ ...happy, schedule: undefined })).toEqual([]);
    expect(job({ ...happy, schedule: "0 * * * *" })).toEqual([]);
  });
  it("ignores other resource types", () => expect(violations(exportScheduleInterval, CONTAINER_TYPE, { ...happy, schedule: "* * * * *" })).toEqual([]));
  it("stops a job that runs more often than the minimum, naming the shortest interval and the config", () => {
    expect(job({ ...happy, schedule: "*/5 * * * *" })).toEqual([
      "ExportJob 'x': schedule '*/5 * * * *' runs every 5 minute(s) at the shortest; at least 60 minutes between runs (policy config minIntervalMinutes)",
    ]);
    // Twice at 02:00 and 02:30: the shortest gap counts, not the average.
    expect(job({ ...happy, schedule: "0,30 2 * * *" })[0]).toContain("runs every 30 minute(s)");
    expect(job({ ...happy, schedule: "*/5 * * * *" }, { minIntervalMinutes: 5 })).toEqual([]);
  });
});

describe("container-private", () => {
  const stack = (props: Record<string, unknown>[]) => {
    const reported: string[] = [];
    const args = { resources: props.map((p, i) => ({ type: CONTAINER_TYPE, props: p, urn: `urn:${i}`, name: `c${i}` }) as unknown as PolicyResource), getConfig: () => ({}) } as unknown as StackValidationArgs;
    void containerPrivate.validateStack(args, (message: string) => reported.push(message));
    return reported;
  };
  it("passes a private container, and one whose access is unknown yet", () => expect(stack([{ name: "exports", publicAccess: "none" }, { name: "new" }])).toEqual([]));
  it("stops a container someone opened to anonymous reads", () => {
    expect(stack([{ name: "exports", publicAccess: "blob" }])).toEqual(["StorageContainer 'c0': anyone can read its exported personal data (publicAccess 'blob'); run pulumi up, which closes it"]);
  });
});

describe("export-users-by-id-limit", () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);
  const job = (count: number, config?: Record<string, unknown>) =>
    violations(exportUsersByIdLimit, EXPORT_JOB_TYPE, { kind: "users_by_id_export", usersById: { externalIds: ids(count) }, containerSasUrl: "https://a.blob.core.windows.net/c?sig=x" }, config);
  it("passes a job naming the platform's 50 users", () => expect(job(50)).toEqual([]));
  it("stops a job over a lower organization limit, naming the count, the config and the platform's", () => {
    expect(job(11, { maxIds: 10 })).toEqual([
      "ExportJob 'x': usersById.externalIds names 11 users, at most 10 (policy config maxIds; seeds: Braze export allows 50); export an audience as a segment instead",
    ]);
  });
  it("ignores jobs of other kinds and ids unknown at preview", () => {
    expect(violations(exportUsersByIdLimit, EXPORT_JOB_TYPE, { kind: "device_export" })).toEqual([]);
    expect(violations(exportUsersByIdLimit, EXPORT_JOB_TYPE, { kind: "users_by_id_export", usersById: undefined })).toEqual([]);
  });
});
