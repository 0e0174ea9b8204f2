// The service's parts, built once per app instance and handed to the route modules: the store's
// repositories (one per aggregate, where the SQL is), the read-only SQL workers, the outbound
// policy, and the one background runner that all background work (deliveries, exports, schedules,
// recounts, sweeps, reports) goes through.
import { AccountRequests } from "./account-dsr.ts";
import { AudienceCounter } from "./audience-counts.ts";
import { AuthFailureLimiter } from "./auth.ts";
import { BrazeSeries } from "./braze-series.ts";
import { KpiActivity } from "./kpi-activity.ts";
import { DataExportTokenService } from "./data-export-tokens.ts";
import { DeviceStore } from "./devices.ts";
import { BroadcastReports } from "./exports/broadcast-metrics.ts";
import { ContinuousExports } from "./exports/continuous.ts";
import { ExportedCopies } from "./exports/copies.ts";
import { ExportService } from "./exports/jobs.ts";
import { RetentionService } from "./exports/retention.ts";
import { NotificationService, type PushSender } from "./notifications.ts";
import { Outbound, type OutboundPolicy } from "./outbound.ts";
import { PushConfigStore } from "./push-config.ts";
import { createRepositories, type Repositories } from "./repositories/index.ts";
import { Runner, type RunnerOptions } from "./runner.ts";
import { SecretBox } from "./secret-box.ts";
import { SqlWorkers } from "./sql-worker.ts";
import { DataSubjectRequests, type DsrOptions } from "./dsr.ts";
import type { Store } from "./store.ts";

export interface ServiceOptions {
  /** How notifications reach devices; the local sender records outcomes without a network. */
  sender?: PushSender | undefined;
  runner?: RunnerOptions | undefined;
  /** Where the service may connect (SAS URLs, callbacks, storage accounts): https to Azure Blob endpoints by default. */
  outbound?: Partial<OutboundPolicy> | undefined;
  /** Time between sweeps of each registered container; default 1 h. */
  retentionSweepIntervalMs?: number | undefined;
  /** Time between continuous exports of each configuration; default 5 min. */
  continuousExportIntervalMs?: number | undefined;
  /** Failed authentications per client address per minute before 429. */
  authFailuresPerMinute?: number | undefined;
  /** Data-subject requests: how soon an erasure tries unreachable export blobs again. */
  dsr?: DsrOptions | undefined;
  /** Time between an account deletion's request and its execution (the window to cancel it); default 1 h. */
  accountDeleteGraceMs?: number | undefined;
}

export interface Services {
  readonly store: Store;
  readonly repositories: Repositories;
  readonly box: SecretBox;
  readonly runner: Runner;
  readonly workers: SqlWorkers;
  /** The Braze dialect's series (its routes and the series export job). */
  readonly brazeSeries: BrazeSeries;
  /** The KPIs' activity, recorded behind ingestion (and caught up before a KPI is read). */
  readonly kpiActivity: KpiActivity;
  readonly outbound: Outbound;
  readonly copies: ExportedCopies;
  readonly accountRequests: AccountRequests;
  readonly authFailures: AuthFailureLimiter;
  readonly devices: DeviceStore;
  readonly counter: AudienceCounter;
  readonly pushConfigs: PushConfigStore;
  readonly notifications: NotificationService;
  readonly exports: ExportService;
  readonly retention: RetentionService;
  readonly continuousExports: ContinuousExports;
  readonly broadcastReports: BroadcastReports;
  readonly dataExportTokens: DataExportTokenService;
  readonly dataSubjectRequests: DataSubjectRequests;
  /** Starts background work: queues what a store from before the runner left, then claims due items. */
  start(): void;
  /** Waits until no background work is running or due (tests). */
  idle(timeoutMs?: number): Promise<void>;
  /** Stops background work (running items are handed back) so the store can close. */
  close(): Promise<void>;
}

export function createServices(store: Store, options: ServiceOptions = {}): Services {
  const repositories = createRepositories(store);
  const runner = new Runner(repositories.workItems, options.runner);
  const workers = new SqlWorkers(store.path);
  // Requests that answer a caller (a size estimate) never queue behind background full counts.
  const interactiveWorkers = new SqlWorkers(store.path, 1);
  const outbound = new Outbound(options.outbound ?? {});
  const kpiActivity = new KpiActivity(store, runner);
  const devices: DeviceStore = new DeviceStore(store, (key, appId) => counter.track(key, appId), workers, () => kpiActivity.eventsArrived());
  const counter = new AudienceCounter(store, repositories, (appId) => devices.slots(appId), workers, runner, interactiveWorkers);
  const brazeSeries = new BrazeSeries(store, repositories, counter, workers, kpiActivity);
  const box = new SecretBox(store.dataDir);
  const pushConfigs = new PushConfigStore(repositories, box);
  const notifications = new NotificationService(store, repositories, counter, pushConfigs, runner, options.sender);
  const copies = new ExportedCopies(repositories, box, outbound);
  const exports = new ExportService(store, repositories, devices, box, counter, runner, workers, outbound, copies, brazeSeries);
  const retention = new RetentionService(store, repositories, box, runner, outbound, options.retentionSweepIntervalMs);
  const continuousExports = new ContinuousExports(store, repositories, box, runner, outbound, copies, options.continuousExportIntervalMs);
  const broadcastReports = new BroadcastReports(store, repositories, workers, runner);
  return {
    store,
    repositories,
    box,
    runner,
    workers,
    brazeSeries,
    kpiActivity,
    outbound,
    copies,
    accountRequests: new AccountRequests(store, repositories, box, runner, options.accountDeleteGraceMs),
    authFailures: new AuthFailureLimiter(options.authFailuresPerMinute),
    devices,
    counter,
    pushConfigs,
    notifications,
    exports,
    retention,
    continuousExports,
    broadcastReports,
    dataExportTokens: new DataExportTokenService(repositories),
    dataSubjectRequests: new DataSubjectRequests(store, repositories, devices, box, runner, workers, copies, outbound, options.dsr),
    start() {
      store.startCheckpoints();
      counter.resumePending();
      notifications.resumeLegacyOutbox();
      exports.resumeLegacy();
      retention.resumeLegacy();
      continuousExports.resumeLegacy();
      broadcastReports.resumeLegacy();
      runner.start();
    },
    idle: (timeoutMs) => runner.idle(timeoutMs),
    async close() {
      await runner.close();
      await Promise.all([workers.close(), interactiveWorkers.close()]);
    },
  };
}
