// App Center notifications (contract: swagger NotificationDefinition / NotificationTarget /
// NotificationContent) and their limits (seeds: Using the Push API).
import { z } from "zod";
import type { FieldIssue } from "./audience.ts";
import { atMost, LIMITS, type Limit } from "./limits.ts";

export const notificationContentSchema = z
  .object({
    name: z.string(),
    title: z.string().optional(),
    body: z.string(),
    custom_data: z.record(z.string(), z.string()).optional(),
  })
  .strict();
export type NotificationContent = z.infer<typeof notificationContentSchema>;

export const notificationTargetSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("audiences_target"), audiences: z.array(z.string()).min(1) }).strict(),
  z.object({ type: z.literal("devices_target"), devices: z.array(z.string()).min(1) }).strict(),
  z.object({ type: z.literal("user_ids_target"), user_ids: z.array(z.string()).min(1) }).strict(),
  z.object({ type: z.literal("account_ids_target"), account_ids: z.array(z.string()).min(1) }).strict(),
]);
export type NotificationTarget = z.infer<typeof notificationTargetSchema>;

export const notificationDefinitionSchema = z
  .object({
    notification_content: notificationContentSchema,
    // null or absent: broadcast to every registered device (seeds: Using the Push API).
    notification_target: notificationTargetSchema.nullable().optional(),
  })
  .strict();
export type NotificationDefinition = z.infer<typeof notificationDefinitionSchema>;

export const NOTIFICATION_STATES = ["Queued", "Sending", "Completed", "Failed", "NoTargetFound"] as const;
export type NotificationState = (typeof NOTIFICATION_STATES)[number];

const atLeast = (l: Limit, got: number) => `must be at least ${l.value} ${l.unit} (got ${got}; ${l.source})`;

/** The content and target-list limits; the device total is checked where targets are resolved. */
export function validateNotification(definition: NotificationDefinition): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const check = (field: string, ok: boolean, message: string) => {
    if (!ok) issues.push({ field, message: `${field} ${message}` });
  };
  const { name, title, body, custom_data: customData } = definition.notification_content;
  check("notification_content.name", name.length >= LIMITS.notificationNameMin.value, atLeast(LIMITS.notificationNameMin, name.length));
  check("notification_content.name", name.length <= LIMITS.notificationNameMax.value, atMost(LIMITS.notificationNameMax, name.length));
  if (title !== undefined) check("notification_content.title", title.length <= LIMITS.notificationTitleLength.value, atMost(LIMITS.notificationTitleLength, title.length));
  check("notification_content.body", body.length >= LIMITS.notificationBodyMin.value, atLeast(LIMITS.notificationBodyMin, body.length));
  check("notification_content.body", body.length <= LIMITS.notificationBodyMax.value, atMost(LIMITS.notificationBodyMax, body.length));
  for (const [key, value] of Object.entries(customData ?? {})) {
    check(`notification_content.custom_data.${key}`, value.length <= LIMITS.customDataValueLength.value, atMost(LIMITS.customDataValueLength, value.length));
  }
  const target = definition.notification_target;
  if (target?.type === "devices_target") {
    check("notification_target.devices", target.devices.length <= LIMITS.devicesTargetInstallIds.value, atMost(LIMITS.devicesTargetInstallIds, target.devices.length));
  }
  if (target?.type === "user_ids_target") {
    check("notification_target.user_ids", target.user_ids.length <= LIMITS.userIdsTarget.value, atMost(LIMITS.userIdsTarget, target.user_ids.length));
  }
  if (target?.type === "account_ids_target") {
    check("notification_target.account_ids", target.account_ids.length <= LIMITS.userIdsTarget.value, atMost(LIMITS.userIdsTarget, target.account_ids.length));
  }
  return issues;
}
