import { z } from "zod";
import { campaignReadAccessShape, outboxConfigShape, positiveInt, subgraphConfigShape, url } from "@startales/service-kit";

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
  /** Who may read a campaign (galaxy map, leaderboard, world), kept per caller and membership version; commands always ask campaign. */
  ...campaignReadAccessShape,
  /** Read models kept per tick (read-cache/): in this process, at most this many entries and bytes. */
  READ_CACHE_MEMORY_ENTRIES: positiveInt(20_000),
  READ_CACHE_MEMORY_BYTES: positiveInt(128 * 1024 * 1024),
  /** How long a tick's read model lives in Redis and in memory (a new tick makes it unreachable before); 0 keeps memory only. */
  READ_CACHE_TTL_SECONDS: z.coerce.number().int().min(0).default(60),
  ...queueShape,
  ...outboxConfigShape,
});
export type SimulationConfig = z.infer<typeof simulationConfigSchema>;
