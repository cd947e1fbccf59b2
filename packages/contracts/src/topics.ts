/**
 * The event topics services publish to (stream and channel `events:<topic>`) and the
 * gateway's `@live` subscription fields read. One place, so a publisher and the schema's
 * `topic:` template cannot drift apart. Which service writes each one is in families.ts.
 */
export const Topics = {
  /** Identity's events of one account: registered, signed in (read by analytics only). */
  account: (userId: string) => `account:${userId}`,
  /** Campaign's lifecycle and membership events of one campaign (`campaignEvents`). */
  campaign: (campaignId: string) => `campaign:${campaignId}`,
  /** Simulation's events of one campaign's world: world created, ticks and what they brought (`campaignEvents`). */
  world: (campaignId: string) => `world:${campaignId}`,
  /** Chat messages of one channel (`messageAdded`). */
  channel: (channelId: string) => `channel:${channelId}`,
  /** Presence changes of one campaign's members (`presenceChanged`). */
  presence: (campaignId: string) => `presence:${campaignId}`,
  /** The text chunks of one streamed provider job (`textStream`); the stream expires after the job. */
  job: (jobId: string) => `job:${jobId}`,
  /** One user's new notifications (`notificationAdded`, topic `inbox:{viewerId}`). */
  inbox: (userId: string) => `inbox:${userId}`,
  /** A service's telemetry for analytics (simulation's TICK_STATS): one topic, not one per campaign, as nobody subscribes to it. */
  telemetry: (service: string) => `telemetry:${service}`,
  /** Realtime's ended sessions (SESSION_ENDED): one topic, read by analytics only. */
  sessions: "sessions:realtime",
  /** Content's uploads and deletions (ASSET_UPLOADED, ASSET_DELETED): one topic, read by analytics only. */
  assets: "assets:content",
  /** Content packs published and deprecated: one topic, read by analytics only. */
  packs: "packs:content",
  /** The packs one campaign's game master enabled and disabled (`campaignContentChanged`). */
  campaignContent: (campaignId: string) => `campaign-content:${campaignId}`,
  /** Provider's usage records (JOB_FINISHED): one topic, read by analytics only. */
  ai: "ai:provider",
  /** One gateway replica's usage statistics (appended to the gateway's firehose only). */
  api: (replica: string) => `api:${replica}`,
  /** System events of a service (infrastructure, monitoring: a tick refused by the conservation check). */
  system: (service: string) => `system:${service}`,
  /**
   * Integration events asking notification to tell users something. Its stream is read by a
   * consumer group and is never trimmed by the relay: the consumer trims what it has
   * acknowledged, so a worker pool that is down loses nothing.
   */
  notifications: "integration:notifications",
  /**
   * Integration events telling simulation that a campaign's lifecycle or membership changed.
   * Read by the simulation worker pool's consumer group and trimmed by it, like notifications.
   */
  campaignLifecycle: "integration:campaign-lifecycle",
  /**
   * Integration events asking every service that keeps a deleted account's data to erase it.
   * Read by campaign and the notification worker pool, each as its own consumer group; what
   * both have acknowledged is trimmed.
   */
  accountErasures: "integration:account-erasures",
  /**
   * Integration events asking notification to mail a user about their account (verification,
   * password reset, change of address). Read by the notification worker pool's consumer group,
   * which trims what it has acknowledged.
   */
  accountMail: "integration:account-mail",
  /**
   * A producer's firehose, `firehose:<producer>` (a cluster's own prefix before the producer):
   * a copy of every event its outbox relay publishes, in publication order, for analytics.
   * Written only while analytics' consumer group has made the stream; only that group trims it.
   */
  firehose: (producer: string, prefix = "firehose") => `${prefix}:${producer}`,
} as const;

/** Topics whose stream only its consumer group may trim (the relay appends without MAXLEN). */
export const isConsumerTrimmedTopic = (topic: string) => topic.startsWith("integration:");

/**
 * A topic's family, the part before its id (`campaign`, `channel`, `inbox`,
 * `integration:notifications`, `system:simulation`…): where its contract is (families.ts) and
 * a metric label, since one series per campaign or per user would grow without bound.
 * Integration and system topics keep two segments; a suffix after them (a test stack's own
 * `integration:notifications:test:<run>`) is an instance of the same family. A firehose's is
 * `firehose:<producer>`, whatever prefix its cluster gives it.
 */
export const topicFamily = (topic: string): string => {
  const parts = topic.split(":");
  // A firehose is named for its producer, the last segment (a cluster's prefix comes before it).
  if (parts[0] === "firehose") return parts.length > 1 ? `firehose:${parts.at(-1)}` : "firehose";
  return parts[0] === "integration" || parts[0] === "system" ? parts.slice(0, 2).join(":") : parts[0]!;
};

/**
 * Feeds that several topics make up, each topic with its own writer: a campaign's timeline is
 * campaign's `campaign:<id>` (lifecycle, membership) and simulation's `world:<id>` (ticks).
 * Their writers give them one clock (outbox-relay's publish script: every stream id of the
 * timeline is newer than every earlier one of any of its topics), so readers merge them by
 * stream id and one id is a resume point for the whole timeline.
 */
const TIMELINES: readonly (readonly string[])[] = [["campaign", "world"]];

/** Every topic of `topic`'s timeline, itself first; just [topic] for a topic that is a feed on its own. */
export function timelineTopics(topic: string): string[] {
  const separator = topic.indexOf(":");
  if (separator < 0) return [topic];
  const [family, id] = [topic.slice(0, separator), topic.slice(separator + 1)];
  const timeline = TIMELINES.find((families) => families.includes(family));
  return timeline ? [topic, ...timeline.filter((other) => other !== family).map((other) => `${other}:${id}`)] : [topic];
}
