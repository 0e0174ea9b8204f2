// pushplane's Pulumi resources.
export { Audience, type AudienceArgs } from "./audience.ts";
export { PushplaneClient, PushplaneApiError, type ClientOptions } from "./client.ts";
