// One stack, two apps: acme's iOS and Android apps each get the same audiences, a private export
// container with a 30-day retention, a write-only SAS that rotates itself and a nightly device
// export. Every resource names its app; the stack's config holds a token per app (or one token for
// every app of the owner):
//   pulumi config set --secret --path 'pushplane:apiTokens["acme/ios"]' <token>
//   pulumi config set --secret --path 'pushplane:apiTokens["acme/android"]' <token>
//   pulumi config set --secret pushplane:storageConnectionString "<connection string>"
import { Audience, ContainerSasToken, ExportJob, StorageContainer } from "@pushplane/pulumi";

const owner = "acme";
const apps = { ios: "ios", android: "android" } as const;

export const perApp = Object.fromEntries(
  Object.entries(apps).map(([platform, app]) => {
    const usUsers = new Audience(`${platform}-us-users`, {
      owner,
      app,
      name: "us-users",
      definition: "carrierCountry eq 'US'",
      description: "Users in the United States",
    });
    const recent = new Audience(`${platform}-recent-os`, {
      owner,
      app,
      name: "recent-os",
      definition: "osApiLevel ge 33",
      description: "Devices on a recent OS release",
    });
    const container = new StorageContainer(`${platform}-exports`, { owner, app, name: `acme-${app}-exports`, retentionDays: 30 });
    const writer = new ContainerSasToken(`${platform}-exports-writer`, { containerName: container.name, permissions: "cw", lifetimeDays: 14, rotationDays: 4 });
    const nightly = new ExportJob(`${platform}-nightly-devices`, {
      owner,
      app,
      kind: "device_export",
      schedule: "0 2 * * *",
      containerSasUrl: writer.sasUrl,
    });
    return [platform, { usUsers: usUsers.estimatedCount, recentOs: recent.estimatedCount, container: container.name, nightlyJob: nightly.jobId }];
  }),
);
