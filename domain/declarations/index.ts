// Every pushplane resource's declaration, by kind: what the provider, its program-side classes, the
// policy pack and the reference docs derive from.
import type { ResourceKind } from "../resources.ts";
import type { AnyDeclaration } from "../declare-resource.ts";
import { audienceResource } from "./audience.ts";
import { dataSubjectRequestResource } from "./dsr.ts";
import { dataExportTokenResource, exportConfigurationResource, exportJobResource } from "./exports.ts";
import { pushConfigResource } from "./push-config.ts";
import { containerSasTokenResource, storageContainerResource } from "./storage.ts";

export { audienceResource } from "./audience.ts";
export { dataSubjectRequestResource } from "./dsr.ts";
export { brazeSeriesJobOptions, broadcastJobOptions, dataExportTokenResource, exportConfigurationResource, exportJobResource } from "./exports.ts";
export { pushConfigBody, pushConfigResource, pushConfigSecret } from "./push-config.ts";
export { containerSasTokenResource, storageContainerResource } from "./storage.ts";

export const RESOURCE_DECLARATIONS = {
  Audience: audienceResource,
  PushConfig: pushConfigResource,
  StorageContainer: storageContainerResource,
  ContainerSasToken: containerSasTokenResource,
  ExportJob: exportJobResource,
  ExportConfiguration: exportConfigurationResource,
  DataExportToken: dataExportTokenResource,
  DataSubjectRequest: dataSubjectRequestResource,
} as const satisfies { [K in ResourceKind]: AnyDeclaration<K> };
