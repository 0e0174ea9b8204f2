// Pulumi type tokens of pushplane's resources, shared by the provider (which registers them) and
// the policy pack (which matches them). Dynamic resources get `pulumi-nodejs:dynamic/<module>:<type>`.

export const RESOURCE_MODULE = "pushplane";

export const RESOURCE_KINDS = ["Audience", "PushConfig", "StorageContainer", "ContainerSasToken", "ExportJob", "ExportConfiguration", "DataExportToken", "DataSubjectRequest"] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export const resourceType = (kind: ResourceKind): string => `pulumi-nodejs:dynamic/${RESOURCE_MODULE}:${kind}`;
