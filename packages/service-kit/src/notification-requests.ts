import { z } from "zod";
import { NOTIFICATION_TEMPLATES, TOPIC_FAMILIES, type EventData, type NotificationTemplate } from "@startales/contracts";
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

/** An integration topic setting: its stream is trimmed by its consumer group only. */
export const integrationTopic = (defaultTopic: string) =>
  z.string().refine(isConsumerTrimmedTopic, "must start with integration: (its stream is trimmed by its consumer only)").default(defaultTopic);

/**
 * Where notification requests go: the same value for every sender and for notification.
 * Clusters (or test stacks) sharing one Redis keep apart by giving each its own topic.
 */
export const notificationTopicShape = { NOTIFICATION_TOPIC: integrationTopic(Topics.notifications) };

/**
 * Where campaign tells simulation of lifecycle and membership changes (CAMPAIGN_LIFECYCLE_CHANGED):
 * the same value for campaign and the simulation worker pool, kept apart per cluster like
 * NOTIFICATION_TOPIC.
 */
export const lifecycleTopicShape = { LIFECYCLE_TOPIC: integrationTopic(Topics.campaignLifecycle) };

export const CAMPAIGN_LIFECYCLE_CHANGED = "CAMPAIGN_LIFECYCLE_CHANGED" as const;

/**
 * Where identity asks the services that keep a deleted account's data to erase it
 * (ACCOUNT_ERASURE_REQUESTED): the same value for identity, campaign and the notification
 * worker pool, kept apart per cluster like NOTIFICATION_TOPIC.
 */
export const accountErasureTopicShape = { ACCOUNT_ERASURE_TOPIC: integrationTopic(Topics.accountErasures) };

export const ACCOUNT_ERASURE_REQUESTED = "ACCOUNT_ERASURE_REQUESTED" as const;

/**
 * Where identity asks the notification worker pool to mail a user about their account
 * (ACCOUNT_MAIL_REQUESTED): the same value for both, kept apart per cluster like NOTIFICATION_TOPIC.
 */
export const accountMailTopicShape = { ACCOUNT_MAIL_TOPIC: integrationTopic(Topics.accountMail) };

export const ACCOUNT_MAIL_REQUESTED = "ACCOUNT_MAIL_REQUESTED" as const;

/** Identity's service-only route that answers what one account mail says and to whom (notification's email channel). */
export const ACCOUNT_MAIL_PATH = "/internal/account-mail";

/** Identity's service-only route that answers users' verified addresses and locales (notification's email channel). */
export const USER_ADDRESSES_PATH = "/internal/users/addresses";

/** The consumer groups that read the erasure requests (campaign's and notification's), each made by whichever starts first. */
export const ACCOUNT_ERASURE_GROUPS: readonly string[] = TOPIC_FAMILIES["integration:account-erasures"].groups;
