// The repositories over one store, one per aggregate: with the store and DeviceStore, the only code holding SQL.
import type { Store } from "../store.ts";
import { AccountDsrRequests } from "./account-dsr-requests.ts";
import { ApiTokens } from "./api-tokens.ts";
import { Apps } from "./apps.ts";
import { Audiences } from "./audiences.ts";
import { BroadcastMetricRequests } from "./broadcast-metrics.ts";
import { DataExportTokens } from "./data-export-tokens.ts";
import { DeviceChanges } from "./device-changes.ts";
import { DeviceReads } from "./device-reads.ts";
import { DsrRequests } from "./dsr-requests.ts";
import { Events } from "./events.ts";
import { ExportCopies } from "./export-copies.ts";
import { ExportConfigurations } from "./export-configurations.ts";
import { ExportJobs } from "./export-jobs.ts";
import { ExportRuns } from "./export-runs.ts";
import { Notifications } from "./notifications.ts";
import { PushConfigs } from "./push-configs.ts";
import { RetentionPolicies } from "./retention-policies.ts";
import { SubjectData } from "./subject-data.ts";
import { WorkItems } from "./work-items.ts";

export interface Repositories {
  readonly apps: Apps;
  readonly apiTokens: ApiTokens;
  readonly accountDsrRequests: AccountDsrRequests;
  readonly audiences: Audiences;
  readonly deviceChanges: DeviceChanges;
  readonly deviceReads: DeviceReads;
  readonly events: Events;
  readonly notifications: Notifications;
  readonly pushConfigs: PushConfigs;
  readonly exportJobs: ExportJobs;
  readonly exportRuns: ExportRuns;
  readonly exportConfigurations: ExportConfigurations;
  readonly exportCopies: ExportCopies;
  readonly retentionPolicies: RetentionPolicies;
  readonly broadcastMetrics: BroadcastMetricRequests;
  readonly dataExportTokens: DataExportTokens;
  readonly workItems: WorkItems;
  readonly dsrRequests: DsrRequests;
  readonly subjectData: SubjectData;
}

/** Repositories hold no state of their own: any number over one store see the same data. */
export function createRepositories(store: Store): Repositories {
  return {
    apps: new Apps(store),
    apiTokens: new ApiTokens(store),
    accountDsrRequests: new AccountDsrRequests(store),
    audiences: new Audiences(store),
    deviceChanges: new DeviceChanges(store),
    deviceReads: new DeviceReads(store),
    events: new Events(store),
    notifications: new Notifications(store),
    pushConfigs: new PushConfigs(store),
    exportJobs: new ExportJobs(store),
    exportRuns: new ExportRuns(store),
    exportConfigurations: new ExportConfigurations(store),
    exportCopies: new ExportCopies(store),
    retentionPolicies: new RetentionPolicies(store),
    broadcastMetrics: new BroadcastMetricRequests(store),
    dataExportTokens: new DataExportTokens(store),
    workItems: new WorkItems(store),
    dsrRequests: new DsrRequests(store),
    subjectData: new SubjectData(store),
  };
}
