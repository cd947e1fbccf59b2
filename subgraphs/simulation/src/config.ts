import { z } from "zod";
import { outboxConfigShape, positiveInt, subgraphConfigShape, url } from "@startales/service-kit";

/** The campaign subgraph, asked as the caller (subgraph) or as the simulation service (worker). */
export const campaignShape = {
  /** The campaign subgraph's GraphQL endpoint: who belongs to which campaign is asked there. */
  CAMPAIGN_URL: url("http://127.0.0.1:4002/graphql"),
  /** How long a call to the campaign subgraph may take before it is SERVICE_UNAVAILABLE. */
  CAMPAIGN_TIMEOUT_MS: positiveInt(5_000),
};

/** BullMQ: replicas of the worker pool (and the subgraph, should it enqueue) agree on the queue prefix. */
export const queueShape = {
  /** Redis key prefix of the simulation's BullMQ queues (replicas of one deployment share it). */
  QUEUE_PREFIX: z.string().min(1).default("bull"),
};

export const simulationConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4003, database: "startales_simulation" }),
  ...campaignShape,
  /**
   * How long who may read a campaign (galaxy map, leaderboard, world) is kept, per caller and
   * membership version: a join, leave or kick asks again at once, so this only bounds a
   * missed publication; 0 asks campaign on every read. Commands always ask campaign.
   */
  CAMPAIGN_READ_ACCESS_TTL_MS: z.coerce.number().int().min(0).default(60_000),
  /** Read models kept per tick (read-cache/): in this process, at most this many entries and bytes. */
  READ_CACHE_MEMORY_ENTRIES: positiveInt(20_000),
  READ_CACHE_MEMORY_BYTES: positiveInt(128 * 1024 * 1024),
  /** How long a tick's read model lives in Redis and in memory (a new tick makes it unreachable before); 0 keeps memory only. */
  READ_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).default(60),
  /** How long a campaign's version, once learnt, is trusted without a publication: a bound on a missed one. */
  READ_CACHE_VERSION_TTL_MS: positiveInt(30_000),
  ...queueShape,
  ...outboxConfigShape,
});
export type SimulationConfig = z.infer<typeof simulationConfigSchema>;
