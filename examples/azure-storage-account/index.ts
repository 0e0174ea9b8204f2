// The storage account itself, declared with @pulumi/azure-native, and the pushplane export pipeline
// inside it: one program, one `pulumi up`. The account is made for exports: no anonymous blob
// access, HTTPS only, TLS 1.2 at least, and a lifecycle rule that deletes export blobs a day after the
// container's retention as a backstop to the service's own sweep (so an erasure reaches exported
// copies even if the service's grant lapsed).
//
// Running it needs Azure credentials (`az login`, or ARM_CLIENT_ID / ARM_CLIENT_SECRET /
// ARM_TENANT_ID / ARM_SUBSCRIPTION_ID) and the azure-native provider plugin
// (`pulumi plugin install resource azure-native`), which `pulumi up` fetches itself where it can
// reach GitHub. The test suite runs this program under Pulumi's mocks (test/examples).
import * as resources from "@pulumi/azure-native/resources";
import * as storage from "@pulumi/azure-native/storage";
import * as pulumi from "@pulumi/pulumi";
import { ContainerSasToken, ExportJob, StorageContainer } from "@pushplane/pulumi";

const RETENTION_DAYS = 30;
const EXPORTS_CONTAINER = "device-exports";

const group = new resources.ResourceGroup("pushplane-exports");

const account = new storage.StorageAccount("exports", {
  resourceGroupName: group.name,
  kind: storage.Kind.StorageV2,
  sku: { name: storage.SkuName.Standard_ZRS },
  accessTier: storage.AccessTier.Hot,
  allowBlobPublicAccess: false,
  enableHttpsTrafficOnly: true,
  minimumTlsVersion: storage.MinimumTlsVersion.TLS1_2,
  // SAS tokens (ContainerSasToken, the service's retention grant) are signed with the account key.
  allowSharedKeyAccess: true,
});

// The backstop: storage deletes what the service's sweep has not, a day after the retention.
new storage.ManagementPolicy("exports-retention", {
  resourceGroupName: group.name,
  accountName: account.name,
  managementPolicyName: "default",
  policy: {
    rules: [
      {
        name: "delete-expired-exports",
        type: storage.RuleType.Lifecycle,
        enabled: true,
        definition: {
          filters: { blobTypes: ["blockBlob"], prefixMatch: [`${EXPORTS_CONTAINER}/`] },
          actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: RETENTION_DAYS + 1 } } },
        },
      },
    ],
  },
});

// The account key never leaves secrets: the connection string is secret, and so is it in state.
const keys = storage.listStorageAccountKeysOutput({ resourceGroupName: group.name, accountName: account.name });
const connectionString = pulumi.secret(
  pulumi.interpolate`DefaultEndpointsProtocol=https;AccountName=${account.name};AccountKey=${keys.keys[0]!.value};EndpointSuffix=core.windows.net`,
);

const exportsContainer = new StorageContainer(EXPORTS_CONTAINER, { retentionDays: RETENTION_DAYS, storageConnectionString: connectionString });
const writer = new ContainerSasToken("device-exports-writer", {
  containerName: exportsContainer.name,
  permissions: "cw",
  lifetimeDays: 7,
  rotationDays: 2,
  storageConnectionString: connectionString,
});
const nightly = new ExportJob("nightly-device-export", { kind: "device_export", schedule: "0 2 * * *", containerSasUrl: writer.sasUrl, prefix: "nightly/" });

export const storageAccount = account.name;
export const blobEndpoint = account.primaryEndpoints.blob;
export const container = exportsContainer.url;
export const nightlyJob = { id: nightly.jobId, nextRunTime: nightly.nextRunTime };
