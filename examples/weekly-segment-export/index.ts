// Every Monday at 06:00 UTC, the users of the "lapsed-plus" audience (plus plan, few visits) go to
// the CRM team's container as gzipped NDJSON parts (Braze's segment export layout). The export
// carries devices and push tokens only; custom attributes stay in the platform.
// Needs `pulumi config set --secret pushplane:storageConnectionString "<connection string>"`.
import { Audience, ContainerSasToken, ExportJob, StorageContainer } from "@pushplane/pulumi";

const lapsed = new Audience("lapsed-plus", {
  definition: "plan eq 'plus' and visits lt 20",
  description: "Plus subscribers who rarely open the app",
  customProperties: { plan: "string", visits: "number" },
});

const crm = new StorageContainer("crm-exports", { retentionDays: 14 });
const writer = new ContainerSasToken("crm-exports-writer", { containerName: crm.name, permissions: "cw", lifetimeDays: 14, rotationDays: 4 });

const weekly = new ExportJob("weekly-lapsed-plus", {
  kind: "segment_export",
  schedule: "0 6 * * 1",
  containerSasUrl: writer.sasUrl,
  segment: { segmentId: lapsed.name, format: "gzip", fields: ["devices", "push_tokens"] },
});

// One run now, so the team has this week's file without waiting for Monday.
const firstRun = new ExportJob("lapsed-plus-now", {
  kind: "segment_export",
  containerSasUrl: writer.sasUrl,
  prefix: "first/",
  segment: { segmentId: lapsed.name, format: "gzip", fields: ["devices", "push_tokens"] },
});

export const audienceSize = lapsed.estimatedCount;
export const weeklyJob = { id: weekly.jobId, nextRunTime: weekly.nextRunTime };
export const firstRunJob = firstRun.jobId;
