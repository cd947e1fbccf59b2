import { z } from "zod";
import { accountErasureTopicShape, notificationTopicShape, outboxConfigShape, positiveInt, subgraphConfigShape, url } from "@startales/service-kit";



/** One config for the subgraph and its worker pool (they share the database and the queue). */
export const notificationConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4007, database: "startales_notification" }),
  /** The campaign subgraph's GraphQL endpoint: who runs and who belongs to a campaign is asked there. */
  CAMPAIGN_URL: url("http://127.0.0.1:4002/graphql"),
  CAMPAIGN_TIMEOUT_MS: positiveInt(5_000),
  /** Namespace of the delivery queue in Redis (the subgraph and its worker pool must share it). */
  NOTIFICATION_REDIS_PREFIX: z.string().min(1).default("notification:"),
  /**
   * The push service (FCM HTTP v1: `POST <PUSH_URL>/v1/projects/<PUSH_PROJECT_ID>/messages:send`).
   * Unset: push is off, and notifications reach the in-app inbox only.
   */
  PUSH_URL: z.url().optional(),
  PUSH_PROJECT_ID: z.string().min(1).default("startales"),
  /** The bearer token the push service accepts (a secret: from the environment only). */
  PUSH_ACCESS_TOKEN: z.string().optional(),
  /** How long one call to the push service may take. */
  PUSH_TIMEOUT_MS: positiveInt(10_000),
  /** Attempts per delivery before it is FAILED (and left in the queue's failed set). */
  DELIVERY_ATTEMPTS: positiveInt(8),
  DELIVERY_RETRY_BASE_MS: positiveInt(1_000),
  DELIVERY_RETRY_MAX_MS: positiveInt(300_000),
  /** Deliveries the worker pool runs at once per process. */
  DELIVERY_CONCURRENCY: positiveInt(32),
  /** How often the worker pool requeues PENDING deliveries that never reached the queue (a crash between commit and enqueue). */
  DELIVERY_SWEEP_MS: positiveInt(30_000),
  /** A PENDING delivery this old, not in the queue, is requeued by the sweep. */
  DELIVERY_STALE_MS: positiveInt(60_000),
  /** Notifications older than this are deleted by the sweep (with their deliveries). */
  NOTIFICATION_RETENTION_DAYS: positiveInt(90),
  /** How long the worker waits on the integration stream per read (it also stops within this). */
  EVENTS_BLOCK_MS: positiveInt(2_000),
  /** An event another consumer took but did not acknowledge this long ago is taken over (a crashed worker). */
  EVENTS_CLAIM_IDLE_MS: positiveInt(60_000),
  /** A request that failed this many times (one claim each) goes to `events:<topic>:dead-letter` for operators. */
  EVENTS_MAX_DELIVERIES: positiveInt(10),
  ...outboxConfigShape,
  /** Per user (`events:inbox:<userId>`): enough to resume a subscription, not an archive (the inbox is). */
  EVENT_STREAM_MAX_LEN: positiveInt(200),
  /** The integration stream other services' notification requests arrive on (campaign's NOTIFICATION_TOPIC). */
  ...notificationTopicShape,
  /** Where identity asks for a deleted account's data to be erased (read by the worker pool as consumer group `notification`, with the EVENTS_* settings). */
  ...accountErasureTopicShape,
}).refine((config) => !config.PUSH_URL || (config.PUSH_ACCESS_TOKEN?.length ?? 0) > 0, {
  path: ["PUSH_ACCESS_TOKEN"],
  message: "is required when PUSH_URL is set",
});

export type NotificationConfig = z.infer<typeof notificationConfigSchema>;
