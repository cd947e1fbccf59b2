import { z } from "zod";
import { Topics, isConsumerTrimmedTopic } from "./topics";

/**
 * The contract between services that have something to tell players and the notification
 * service: an integration event of type NOTIFICATION_REQUESTED on `Topics.notifications`,
 * recorded in the sender's outbox in the transaction of the change it is about. Notification
 * owns the wording (its templates) and the channels (preferences, devices).
 */
export const NOTIFICATION_REQUESTED = "NOTIFICATION_REQUESTED";

export const NOTIFICATION_TEMPLATES = ["CAMPAIGN_STARTED", "CAMPAIGN_PAUSED", "CAMPAIGN_RESUMED", "CAMPAIGN_ENDED", "PLAYER_JOINED", "PLAYER_LEFT"] as const;
export type NotificationTemplate = (typeof NOTIFICATION_TEMPLATES)[number];

export type NotificationRequest = {
  template: NotificationTemplate;
  /** Who is told; the sender decides (it knows its members), at the moment of the change. */
  recipientIds: string[];
  campaignId: string | null;
  /** The values the template names (campaignName, userId, ...), all strings. */
  params: Record<string, string>;
};

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
