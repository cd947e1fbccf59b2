/**
 * The event topics services publish to (stream and channel `events:<topic>`) and the
 * gateway's `@live` subscription fields read. One place, so a publisher and the schema's
 * `topic:` template cannot drift apart.
 */
export const Topics = {
  /** Lifecycle, membership and simulation events of one campaign (`campaignEvents`). */
  campaign: (campaignId: string) => `campaign:${campaignId}`,
  /** Chat messages of one channel (`messageAdded`). */
  channel: (channelId: string) => `channel:${channelId}`,
  /** Presence changes of one campaign's members (`presenceChanged`). */
  presence: (campaignId: string) => `presence:${campaignId}`,
  /** The text chunks of one streamed provider job (`textStream`); the stream expires after the job. */
  job: (jobId: string) => `job:${jobId}`,
  /** One user's new notifications (`notificationAdded`, topic `inbox:{viewerId}`). */
  inbox: (userId: string) => `inbox:${userId}`,
  /** System events of a service (infrastructure, monitoring: a tick refused by the conservation check). */
  system: (service: string) => `system:${service}`,
  /**
   * Integration events asking notification to tell users something (notification-requests.ts).
   * Its stream is read by a consumer group and is never trimmed by the relay: the consumer
   * trims what it has acknowledged, so a worker pool that is down loses nothing.
   */
  notifications: "integration:notifications",
} as const;

/** Topics whose stream only its consumer group may trim (the relay appends without MAXLEN). */
export const isConsumerTrimmedTopic = (topic: string) => topic.startsWith("integration:");

/**
 * A topic's kind without its id (`campaign`, `channel`, `inbox`, `integration:notifications`…):
 * a metric label, since one series per campaign or per user would grow without bound.
 */
export const topicFamily = (topic: string) => (isConsumerTrimmedTopic(topic) || topic.startsWith("system:") ? topic : topic.split(":", 1)[0]!);
