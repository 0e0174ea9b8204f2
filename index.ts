// The quickstart stack: the example audiences of the seeds (Using the Push API), and where their
// exports go: a private container with a 30-day retention, a write-only SAS that rotates itself, a
// device export that runs once right away and a nightly export of the dog lovers (Braze's segment
// layout). `npm run demo` runs it against the embedded service and Azurite.
import { Audience, ContainerSasToken, ExportJob, StorageContainer } from "@pushplane/pulumi";

const usUsers = new Audience("us-users", {
  definition: "carrierCountry eq 'US'",
  description: "Users in the United States",
});

const dogLovers = new Audience("dog-lovers", {
  definition: "dog-lover eq true and dog-breed eq 'Golden Retriever'",
  description: "Dog lovers with a golden retriever",
  customProperties: { "dog-lover": "boolean", "dog-breed": "string" },
});

const exportsContainer = new StorageContainer("exports", { retentionDays: 30 });
const writer = new ContainerSasToken("exports-writer", { containerName: exportsContainer.name, permissions: "cw", lifetimeDays: 7, rotationDays: 2 });

const deviceExport = new ExportJob("device-export-now", { kind: "device_export", containerSasUrl: writer.sasUrl, prefix: "devices/" });

const nightlyDogLovers = new ExportJob("dog-lovers-nightly", {
  kind: "segment_export",
  schedule: "0 2 * * *",
  containerSasUrl: writer.sasUrl,
  prefix: "segments/",
  segment: { segmentId: dogLovers.name, format: "gzip" },
});

export const audiences = {
  usUsers: { name: usUsers.name, definition: usUsers.normalizedDefinition, state: usUsers.state, estimatedCount: usUsers.estimatedCount },
  dogLovers: { name: dogLovers.name, definition: dogLovers.normalizedDefinition, state: dogLovers.state, estimatedCount: dogLovers.estimatedCount },
};
export const exportContainer = exportsContainer.url;
export const deviceExportJob = deviceExport.jobId;
export const dogLoversNightly = { id: nightlyDogLovers.jobId, nextRunTime: nightlyDogLovers.nextRunTime };
