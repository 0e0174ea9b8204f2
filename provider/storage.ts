// Blob storage access for the storage resources: @azure/storage-blob, so the same code drives
// Azurite and Azure. The account is the resource's own `storageConnectionString` input (a program
// that creates the account passes it along) or else `pushplane:storageConnectionString` (secret config).
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { settings } from "./settings.ts";
import { isUnknown } from "./unknown.ts";

/** The storage resources' account input: checked for shape, never echoed (it holds the account key). */
export const connectionStringSchema = z
  .string()
  .refine((value) => isUnknown(value) || /(^|;)AccountName=[^;]+/.test(value), "must be a storage account connection string (…;AccountName=…;AccountKey=…); the value is not shown")
  .optional();

const clients = new Map<string, BlobServiceClient>();

export function blobService(connectionString?: string): BlobServiceClient {
  const chosen = connectionString ?? settings().storageConnectionString;
  if (!chosen) {
    throw new Error(
      "no storage account: pass storageConnectionString to the resource, or run `pulumi config set --secret pushplane:storageConnectionString \"<connection string>\"` " +
        "(Azure portal → storage account → Access keys, or Azurite's development connection string)",
    );
  }
  let client = clients.get(chosen);
  if (!client) {
    client = BlobServiceClient.fromConnectionString(chosen, { retryOptions: { maxTries: 4, tryTimeoutInMs: 30_000, retryDelayInMs: 500, maxRetryDelayInMs: 8_000 } });
    clients.set(chosen, client);
  }
  return client;
}

export const container = (name: string, connectionString?: string): ContainerClient => blobService(connectionString).getContainerClient(name);
export const accountName = (connectionString?: string): string => blobService(connectionString).accountName;
