// Blob storage access for the storage resources: @azure/storage-blob, so the same code drives
// Azurite and Azure. The account is the resource's own `storageConnectionString` input (a program
// that creates the account passes it along) or else `pushplane:storageConnectionString` (secret config).
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { PROVIDER_CONFIG } from "../domain/index.ts";
import { settings } from "./settings.ts";

/** The check failure of a storage resource with no account: neither its own input nor the stack's. */
export const noStorageAccount = {
  property: "storageConnectionString",
  reason: `no storage account: pass storageConnectionString, or run \`pulumi config set --secret ${PROVIDER_CONFIG.storageConnectionString.key} "<connection string>"\``,
};

const clients = new Map<string, BlobServiceClient>();
/** What a preview only reports on gets one try, 5 s at most: a storage account that cannot answer is said, not waited for. */
const QUICK = { maxTries: 1, tryTimeoutInMs: 5_000 };
const PATIENT = { maxTries: 4, tryTimeoutInMs: 30_000, retryDelayInMs: 500, maxRetryDelayInMs: 8_000 };

export function blobService(connectionString?: string, options: { quick?: boolean } = {}): BlobServiceClient {
  const chosen = connectionString ?? settings().storageConnectionString;
  if (!chosen) {
    throw new Error(
      "no storage account: pass storageConnectionString to the resource, or run `pulumi config set --secret pushplane:storageConnectionString \"<connection string>\"` " +
        "(Azure portal → storage account → Access keys, or Azurite's development connection string)",
    );
  }
  const cacheKey = `${options.quick ? "quick" : "patient"}|${chosen}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = BlobServiceClient.fromConnectionString(chosen, { retryOptions: options.quick ? QUICK : PATIENT });
    clients.set(cacheKey, client);
  }
  return client;
}

export const container = (name: string, connectionString?: string, options: { quick?: boolean } = {}): ContainerClient =>
  blobService(connectionString, options).getContainerClient(name);
export const accountName = (connectionString?: string): string => blobService(connectionString).accountName;
