import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gql } from "graphql-tag";
import {
  campaignReadAccessFor,
  createCampaignClient,
  readModelCacheFor,
  createRedis,
  createSubgraphApp,
  databaseReadiness,
  redisReadiness,
  type Logger,
  type SubgraphApp,
} from "@startales/service-kit";
import type { SimulationConfig } from "./config";
import { createDb } from "./db";
import { createCommandService } from "./domain/command-service";
import { simulationPolicies } from "./domain/policies";
import { createLoaders } from "./loaders";
import { createWorldReads } from "./read-cache/world-reads";
import { createResolvers } from "./resolvers";

export const simulationTypeDefs = gql(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));

/**
 * The simulation subgraph as a value; `listen()` starts it (port 0 in tests). It serves
 * reads from the read models the worker pool writes each tick and queues commands; ticks,
 * world creation and their events are the worker pool's (worker.ts), which runs the outbox
 * relay.
 */
export function createSimulationApp(config: SimulationConfig, logger: Logger): SubgraphApp {
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_POOL_TIMEOUT_MS);
  const redis = createRedis(config.REDIS_URL, "simulation");
  const campaigns = createCampaignClient({ url: config.CAMPAIGN_URL, timeoutMs: config.CAMPAIGN_TIMEOUT_MS, logger: logger.child({ component: "campaign-client" }) });
  // Reads are versioned by the campaign's event streams, which the worker pool and campaign publish.
  const { versions, readAccess } = campaignReadAccessFor(redis, campaigns, config, { logger: logger.child({ component: "read-cache" }), connectionName: "simulation-read-versions", follows: ["world", "campaign"] });
  const cache = readModelCacheFor(redis, "simulation:read:", config);
  const reads = createWorldReads(db, cache, versions);
  return createSubgraphApp({
    name: "simulation",
    config,
    logger,
    typeDefs: simulationTypeDefs,
    resolvers: createResolvers({ db, redis, commands: createCommandService(db) }),
    policies: simulationPolicies,
    // Campaign here is its world alone, read from a tick's read models.
    versionedEntities: ["Campaign"],
    createLoaders: (viewer, forwarded, answer) => createLoaders(reads, readAccess, viewer, forwarded, answer),
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    // Until it is subscribed, every read asks Redis for the versions: slower, never stale.
    onListen: () => void versions.start().catch((error: unknown) => logger.error({ err: error }, "could not subscribe to campaign events; reads ask Redis for versions")),
    onStop: async () => {
      versions.stop();
      await db.$disconnect();
      redis.disconnect();
    },
  });
}
