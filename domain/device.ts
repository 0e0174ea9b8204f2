// What a mobile SDK sends: devices (install id, user id, the seeds' device properties, typed custom
// properties, push channel and token) and events. Unknown fields are rejected, naming the field.
import { CURRENCIES } from "./braze-series.ts";
import { z } from "zod";
import { LIMITS } from "./limits.ts";

export const PUSH_CHANNELS = ["apns", "fcm", "wns"] as const;
export type PushChannel = (typeof PUSH_CHANNELS)[number];

const shortText = z.string().max(256);

/** Device properties as the App Center SDK captures them (seeds: Using the Push API). */
export const devicePropertiesSchema = z
  .object({
    appVersion: shortText,
    carrierCountry: shortText,
    deviceOsVersion: shortText,
    osApiLevel: z.number().int().min(0).max(1000),
    osVersion: shortText,
    model: shortText,
    locale: shortText,
    oemName: shortText,
    screenSize: shortText,
  })
  .partial()
  .strict();
export type DeviceProperties = z.infer<typeof devicePropertiesSchema>;

/** A date_time custom property travels as {"date_time": "<ISO-8601>"}, so it is never mistaken for a string. */
export const customPropertyValueSchema = z.union([
  z.string().max(LIMITS.customDataValueLength.value),
  z.number().refine(Number.isFinite, "must be a finite number"),
  z.boolean(),
  z.object({ date_time: z.iso.datetime({ offset: true }) }).strict(),
]);
export type CustomPropertyValue = z.infer<typeof customPropertyValueSchema>;

export const customPropertyNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, "must start with a letter or '_' and hold at most 64 letters, digits, '_', '.', '-'");

export const deviceSchema = z
  .object({
    install_id: z.uuid(),
    user_id: z.string().min(1).max(256).optional(),
    properties: devicePropertiesSchema.default({}),
    // null clears a custom property; absent ones keep their value (the SDK sends what changed).
    custom_properties: z.record(customPropertyNameSchema, customPropertyValueSchema.nullable()).default({}),
    push: z.object({ channel: z.enum(PUSH_CHANNELS), token: z.string().min(1).max(4096) }).strict().optional(),
  })
  .strict();
export type DeviceInput = z.infer<typeof deviceSchema>;

const eventBase = {
  install_id: z.uuid(),
  timestamp: z.iso.datetime({ offset: true }),
};

export const eventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("session_start"), ...eventBase }).strict(),
  z.object({ type: z.literal("session_end"), ...eventBase }).strict(),
  z.object({ type: z.literal("push_opened"), ...eventBase, notification_id: z.string().min(1).max(64) }).strict(),
  // The app was removed from the device (an SDK's uninstall tracking, or a push provider reporting the token unregistered).
  z.object({ type: z.literal("uninstall"), ...eventBase }).strict(),
  z
    .object({
      type: z.literal("custom"),
      ...eventBase,
      name: z.string().min(1).max(256),
      properties: z.record(customPropertyNameSchema, z.union([z.string().max(256), z.number(), z.boolean()])).default({}),
    })
    .strict(),
  z
    .object({
      type: z.literal("purchase"),
      ...eventBase,
      product_id: z.string().min(1).max(256),
      amount: z
        .number()
        .nonnegative()
        .max(LIMITS.purchaseAmount.value, `must be at most ${LIMITS.purchaseAmount.value.toLocaleString("en-US")} ${LIMITS.purchaseAmount.unit} (${LIMITS.purchaseAmount.source})`),
      // The revenue series reports USD at fixed rates (braze-series.ts): a currency needs one.
      currency: z.enum(CURRENCIES as [string, ...string[]], { message: `must be one of ${CURRENCIES.join(", ")} (ISO 4217 codes the revenue series converts to USD at fixed rates)` }),
    })
    .strict(),
]);
export type EventInput = z.infer<typeof eventSchema>;
export const EVENT_TYPES = ["session_start", "session_end", "push_opened", "uninstall", "custom", "purchase"] as const;

/** The declared type of a custom property value, as audiences name types. */
export function customValueType(value: CustomPropertyValue): "string" | "number" | "boolean" | "date_time" {
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "boolean";
  return "date_time";
}
