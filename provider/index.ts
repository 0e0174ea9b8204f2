// pushplane's Pulumi resources, and the service's client.
export * from "./resources.ts";
export { PushplaneClient, PushplaneApiError, type ClientOptions } from "../client/client.ts";
export { AudienceFilesError, loadAudiences, readAudienceFiles, type AudienceFromFile } from "./audiences-data.ts";
