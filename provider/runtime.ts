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
import { INVALID_INPUTS } from "./stub.ts";

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
  const refuse = async (): Promise<never> => {
    throw new Error("the program reported this resource's inputs as invalid; fix them and run again");
  };
  return {
    ...implementation,
    configure: async (req) => configure(req.config),
    // Inputs the program already reported (stub.ts) are not reported again, and never applied.
    check: (olds, news) => (news[INVALID_INPUTS] ? Promise.resolve({ inputs: news }) : implementation.check!(olds, news)),
    create: (inputs) => (inputs[INVALID_INPUTS] ? refuse() : implementation.create(inputs)),
    update: (id, olds, news) => (news[INVALID_INPUTS] ? refuse() : implementation.update!(id, olds, news)),
  };
}
