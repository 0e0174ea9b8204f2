// pushplane's Pulumi resources.
export { Audience, type AudienceArgs } from "./audience.ts";
export { PushConfig, type PushConfigArgs } from "./push-config.ts";
export { PushplaneClient, PushplaneApiError, type ClientOptions } from "./client.ts";
