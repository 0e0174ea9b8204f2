// The stack a GitOps repository applies: the audiences its marketers keep as YAML under
// audiences/ (one file per app, or one per audience), and the nightly export of the app's devices
// into a private container with a 30-day retention, through a rotating create+write SAS.
// Stack config (see README.md): pushplane:endpoint, and as secrets pushplane:apiToken (or
// pushplane:apiTokens) and pushplane:storageConnectionString.
import { ContainerSasToken, ExportJob, loadAudiences, StorageContainer } from "@pushplane/pulumi";

export const audiences = Object.keys(loadAudiences("audiences")).sort();

const exportsContainer = new StorageContainer("device-exports", { retentionDays: 30, metadata: { classification: "personal_data" } });
const writer = new ContainerSasToken("device-exports-writer", { containerName: exportsContainer.name, permissions: "cw", lifetimeDays: 7, rotationDays: 2 });
new ExportJob("nightly-device-export", { kind: "device_export", schedule: "0 2 * * *", containerSasUrl: writer.sasUrl, prefix: "nightly/" });
