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
  /** System events of a service (infrastructure, monitoring: a tick refused by the conservation check). */
  system: (service: string) => `system:${service}`,
} as const;
