// Loaded inside Pulumi's dynamic-provider process by provider/stub.ts: the implementations by kind.
import type * as pulumi from "@pulumi/pulumi";
import type { ResourceKind } from "../domain/index.ts";
import { audienceProvider } from "./audience.ts";
import { containerSasTokenProvider } from "./container-sas-token.ts";
import { dataExportTokenProvider } from "./data-export-token.ts";
import { exportConfigurationProvider } from "./export-configuration.ts";
import { exportJobProvider } from "./export-job.ts";
import { pushConfigProvider } from "./push-config.ts";
import { storageContainerProvider } from "./storage-container.ts";
import { configure } from "./settings.ts";

const implementations: Record<ResourceKind, Omit<pulumi.dynamic.ResourceProvider, "configure">> = {
  Audience: audienceProvider,
  PushConfig: pushConfigProvider,
  StorageContainer: storageContainerProvider,
  ContainerSasToken: containerSasTokenProvider,
  ExportJob: exportJobProvider,
  ExportConfiguration: exportConfigurationProvider,
  DataExportToken: dataExportTokenProvider,
};

export function providerFor(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  const implementation = implementations[kind];
  if (!implementation) throw new Error(`pushplane has no resource kind '${kind}'`);
  return { ...implementation, configure: async (req) => configure(req.config) };
}
