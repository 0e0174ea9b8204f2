// The single source of truth shared by provider/, service/ and policies/.
export * from "./limits.ts";
export * from "./audience.ts";
export * from "./resources.ts";
export * from "./device.ts";
export * from "./notification.ts";
export * from "./push-config.ts";
export * from "./storage.ts";
export * from "./schedule.ts";
export * from "./data-export-token.ts";
export * from "./broadcast-metrics.ts";
export * from "./definition/index.ts";
export * from "./api.ts";
export * from "./token-scope.ts";
export * from "./declare-resource.ts";
export * from "./declarations/index.ts";
export * from "./provider-config.ts";
export * from "./dsr.ts";
