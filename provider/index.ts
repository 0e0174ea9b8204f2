// pushplane's Pulumi resources.
export { Audience, type AudienceArgs } from "./audience.ts";
export { ContainerSasToken, type ContainerSasTokenArgs } from "./container-sas-token.ts";
export { DataExportToken, type DataExportTokenArgs } from "./data-export-token.ts";
export { ExportConfiguration, type ExportConfigurationArgs } from "./export-configuration.ts";
export { ExportJob, type ExportJobArgs } from "./export-job.ts";
export { PushConfig, type PushConfigArgs } from "./push-config.ts";
export { StorageContainer, type StorageContainerArgs } from "./storage-container.ts";
export { PushplaneClient, PushplaneApiError, type ClientOptions } from "../client/client.ts";
