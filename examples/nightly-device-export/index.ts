// Nightly device exports into blob storage, declared: the container (private, 30-day retention so
// an erasure reaches exported copies), a create+write SAS that rotates two days before it expires,
// a nightly export at 02:00 UTC, a one-off backfill that runs right away, daily raw events, weekly
// broadcast metrics, yesterday's hourly sessions as a Braze series, and the analytics events
// continuously.
// Needs `pulumi config set --secret pushplane:storageConnectionString "<connection string>"`: an
// Azure storage account's (Access keys) or Azurite's development one.
import { ContainerSasToken, DataExportToken, ExportConfiguration, ExportJob, StorageContainer } from "@pushplane/pulumi";

const exportsContainer = new StorageContainer("device-exports", { retentionDays: 30, metadata: { team: "growth", classification: "personal_data" } });

const writeOnly = new ContainerSasToken("device-exports-writer", {
  containerName: exportsContainer.name,
  permissions: "cw",
  lifetimeDays: 7,
  rotationDays: 2,
});

const nightly = new ExportJob("nightly-device-export", {
  kind: "device_export",
  schedule: "0 2 * * *",
  containerSasUrl: writeOnly.sasUrl,
  prefix: "nightly/",
});

const backfill = new ExportJob("device-export-backfill", {
  kind: "device_export",
  containerSasUrl: writeOnly.sasUrl,
  prefix: "backfill/",
});

// Yesterday's raw events (Braze's zipped CSV layout), every day at 03:00 UTC.
const dailyRawEvents = new ExportJob("daily-raw-events", {
  kind: "raw_event_export",
  schedule: "0 3 * * *",
  containerSasUrl: writeOnly.sasUrl,
  prefix: "raw/",
  rawEvents: { windowDays: 1 },
});

// Last week's broadcast metrics (CloudKit's CSV: subscribers, sent, delivered, opened per day),
// every Monday at 04:00 UTC, for the analytics team's dashboards.
const weeklyMetrics = new ExportJob("weekly-broadcast-metrics", {
  kind: "broadcast_metrics_export",
  schedule: "0 4 * * 1",
  containerSasUrl: writeOnly.sasUrl,
  prefix: "metrics/",
  broadcastMetrics: { bundleId: "com.acme.demo", windowDays: 7 },
});

// Yesterday's sessions hour by hour (the Braze dialect's sessions/data_series), as CSV every night
// at 00:30 UTC, for the growth team's spreadsheet.
const hourlySessions = new ExportJob("hourly-sessions", {
  kind: "braze_series_export",
  schedule: "30 0 * * *",
  containerSasUrl: writeOnly.sasUrl,
  prefix: "series/",
  brazeSeries: { series: "sessions", unit: "hour", length: 24 },
});

// The app's analytics events, continuously (App Center's export configuration): NDJSON every five
// minutes into the account's pushplane-export container.
const analyticsEvents = new ExportConfiguration("analytics-events");

// The analytics team's token for the broadcast-metrics dataset (CloudKit style): 90 days from
// creation, a secret output.
const metricsToken = new DataExportToken("broadcast-metrics", {
  bundleId: "com.acme.demo",
  dataset: "broadcast_application_metrics",
  description: "Broadcast metrics for the analytics team",
  lifetimeDays: 90,
});

export const container = exportsContainer.url;
export const metricsTokenId = metricsToken.tokenId;
export const sasRenewAfter = writeOnly.renewAfter;
export const nightlyJob = { id: nightly.jobId, nextRunTime: nightly.nextRunTime };
export const backfillJob = backfill.jobId;
export const rawEventsJob = { id: dailyRawEvents.jobId, nextRunTime: dailyRawEvents.nextRunTime };
export const metricsJob = { id: weeklyMetrics.jobId, nextRunTime: weeklyMetrics.nextRunTime };
export const sessionsJob = { id: hourlySessions.jobId, nextRunTime: hourlySessions.nextRunTime };
export const continuousExport = { id: analyticsEvents.configurationId, state: analyticsEvents.state };
