// Blob storage access for the storage resources: @azure/storage-blob with the account from
// `pushplane:storageConnectionString` (secret config), so the same code drives Azurite and Azure.
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { settings } from "./settings.ts";

let cached: { connectionString: string; client: BlobServiceClient } | undefined;

export function blobService(): BlobServiceClient {
  const { storageConnectionString } = settings();
  if (!storageConnectionString) {
    throw new Error(
      "pushplane:storageConnectionString is not set: run `pulumi config set --secret pushplane:storageConnectionString \"<connection string>\"` " +
        "(Azure portal → storage account → Access keys, or Azurite's development connection string)",
    );
  }
  if (cached?.connectionString !== storageConnectionString) {
    cached = {
      connectionString: storageConnectionString,
      client: BlobServiceClient.fromConnectionString(storageConnectionString, {
        retryOptions: { maxTries: 4, tryTimeoutInMs: 30_000, retryDelayInMs: 500, maxRetryDelayInMs: 8_000 },
      }),
    };
  }
  return cached.client;
}

export const container = (name: string): ContainerClient => blobService().getContainerClient(name);
export const accountName = (): string => blobService().accountName;
