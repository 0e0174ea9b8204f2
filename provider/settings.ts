// Provider settings from Pulumi stack config (never from captured variables: whatever a dynamic
// provider captures is serialized into state). Read once, in the provider process, at `configure`.
import type * as pulumi from "@pulumi/pulumi";
import { STORAGE_DEFAULTS } from "../domain/index.ts";
import { PushplaneClient } from "../client/client.ts";

export interface Settings {
  readonly endpoint: string;
  readonly client: PushplaneClient;
  /** Defaults for resources that do not name their owner/app. */
  readonly owner: string | undefined;
  readonly app: string | undefined;
  /** Blob storage account for StorageContainer / ContainerSasToken (secret config). */
  readonly storageConnectionString: string | undefined;
  /** The most a ContainerSasToken may grant and for how long. */
  readonly sasAllowedPermissions: string;
  readonly sasMaxLifetimeDays: number;
}

let current: Settings | undefined;

export function configure(config: pulumi.dynamic.Config): void {
  const endpoint = config.get("pushplane:endpoint");
  const apiToken = config.get("pushplane:apiToken");
  if (!endpoint) throw new Error("pushplane:endpoint is not set: run `pulumi config set pushplane:endpoint http://127.0.0.1:8080`");
  if (!apiToken) throw new Error("pushplane:apiToken is not set: run `pulumi config set --secret pushplane:apiToken <token>`");
  current = {
    endpoint,
    client: new PushplaneClient({ endpoint, apiToken }),
    owner: config.get("pushplane:owner") || undefined,
    app: config.get("pushplane:app") || undefined,
    storageConnectionString: config.get("pushplane:storageConnectionString") || undefined,
    sasAllowedPermissions: config.get("pushplane:sasAllowedPermissions") || STORAGE_DEFAULTS.sasAllowedPermissions,
    sasMaxLifetimeDays: Number(config.get("pushplane:sasMaxLifetimeDays") || STORAGE_DEFAULTS.sasMaxLifetimeDays),
  };
}

export function settings(): Settings {
  if (!current) throw new Error("the pushplane provider was used before it was configured");
  return current;
}
