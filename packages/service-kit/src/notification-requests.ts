import { z } from "zod";
import { NOTIFICATION_TEMPLATES, type EventData, type NotificationTemplate } from "@startales/contracts";
import { Topics, isConsumerTrimmedTopic } from "./topics";

/**
 * The contract between services that have something to tell players and the notification
 * service: an integration event of type NOTIFICATION_REQUESTED on `Topics.notifications`
 * (its data schema is in @startales/contracts), recorded in the sender's outbox in the
 * transaction of the change it is about. Notification owns the wording (its templates) and
 * the channels (preferences, devices).
 */
export const NOTIFICATION_REQUESTED = "NOTIFICATION_REQUESTED" as const;

export { NOTIFICATION_TEMPLATES, type NotificationTemplate };

export type NotificationRequest = EventData<"NOTIFICATION_REQUESTED">;

/**
 * Where notification requests go: the same value for every sender and for notification.
 * Clusters (or test stacks) sharing one Redis keep apart by giving each its own topic.
 */
export const notificationTopicShape = {
  NOTIFICATION_TOPIC: z
    .string()
    .refine(isConsumerTrimmedTopic, "must start with integration: (its stream is trimmed by its consumer only)")
    .default(Topics.notifications),
};
