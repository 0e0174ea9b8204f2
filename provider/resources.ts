// pushplane's Pulumi resources as a program uses them, each made from its declaration
// (domain/declarations/): `new Audience("us-users", { definition: "carrierCountry eq 'US'" })`.
// The reference (docs/reference.md) lists every input and output.
import { RESOURCE_DECLARATIONS as declared } from "../domain/index.ts";
import { resourceClass, type ArgsOf, type ResourceOf } from "./stub.ts";

export const Audience = resourceClass(declared.Audience);
export type Audience = ResourceOf<typeof declared.Audience>;
export type AudienceArgs = ArgsOf<typeof declared.Audience>;

export const PushConfig = resourceClass(declared.PushConfig);
export type PushConfig = ResourceOf<typeof declared.PushConfig>;
export type PushConfigArgs = ArgsOf<typeof declared.PushConfig>;

export const StorageContainer = resourceClass(declared.StorageContainer);
export type StorageContainer = ResourceOf<typeof declared.StorageContainer>;
export type StorageContainerArgs = ArgsOf<typeof declared.StorageContainer>;

export const ContainerSasToken = resourceClass(declared.ContainerSasToken);
export type ContainerSasToken = ResourceOf<typeof declared.ContainerSasToken>;
export type ContainerSasTokenArgs = ArgsOf<typeof declared.ContainerSasToken>;

export const ExportJob = resourceClass(declared.ExportJob);
export type ExportJob = ResourceOf<typeof declared.ExportJob>;
export type ExportJobArgs = ArgsOf<typeof declared.ExportJob>;

export const ExportConfiguration = resourceClass(declared.ExportConfiguration);
export type ExportConfiguration = ResourceOf<typeof declared.ExportConfiguration>;
export type ExportConfigurationArgs = ArgsOf<typeof declared.ExportConfiguration>;

export const DataExportToken = resourceClass(declared.DataExportToken);
export type DataExportToken = ResourceOf<typeof declared.DataExportToken>;
export type DataExportTokenArgs = ArgsOf<typeof declared.DataExportToken>;

export const DataSubjectRequest = resourceClass(declared.DataSubjectRequest);
export type DataSubjectRequest = ResourceOf<typeof declared.DataSubjectRequest>;
export type DataSubjectRequestArgs = ArgsOf<typeof declared.DataSubjectRequest>;
