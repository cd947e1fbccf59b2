import { z } from "zod";
import { accountErasureTopicShape, lifecycleTopicShape, notificationTopicShape, outboxConfigShape, positiveInt, subgraphConfigShape } from "@startales/service-kit";

export const campaignConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4002, database: "startales_campaign" }),
  ...outboxConfigShape,
  /** Where campaign asks notification to tell members about changes (notification reads the same). */
  ...notificationTopicShape,
  /** Where campaign tells simulation of lifecycle and membership changes (simulation's worker pool reads the same). */
  ...lifecycleTopicShape,
  /** Where identity asks for a deleted account's data to be erased (read as consumer group `campaign`). */
  ...accountErasureTopicShape,
  /** What each poll of a campaign reads besides its row (member count, the caller's membership), kept per campaign version: in this process at most this many entries and bytes. */
  READ_CACHE_MEMORY_ENTRIES: positiveInt(50_000),
  READ_CACHE_MEMORY_BYTES: positiveInt(32 * 1024 * 1024),
  /** How long such an entry lives in Redis and in memory (a newer version makes it unreachable before); 0 keeps memory only. */
  READ_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).default(300),
  /** How long a campaign's version (its newest world and campaign event), once learnt, is trusted without a publication: a bound on a missed one. */
  READ_CACHE_VERSION_TTL_MS: positiveInt(30_000),
});

export type CampaignConfig = z.infer<typeof campaignConfigSchema>;
