import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gql } from "graphql-tag";
import {
  readModelCacheFor,
  createAccountErasureConsumer,
  followCampaignVersions,
  createRedis,
  createSubgraphApp,
  databaseReadiness,
  prismaOutboxRelay,
  redisReadiness,
  type Logger,
  type SubgraphApp,
} from "@startales/service-kit";
import type { CampaignConfig } from "./config";
import { createDb } from "./db";
import { createCampaignService } from "./domain/campaign-service";
import { campaignPolicies } from "./domain/policies";
import { createLoaders } from "./loaders";
import { worldSetupRoute } from "./world-setup-route";

import { createResolvers } from "./resolvers";

export const campaignTypeDefs = gql(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));

/**
 * The campaign subgraph as a value; `listen()` starts it (port 0 in tests) and its outbox
 * relay, which `stop()` stops after HTTP has drained and before the database closes.
 */
export function createCampaignApp(config: CampaignConfig, logger: Logger): SubgraphApp {
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_POOL_TIMEOUT_MS);
  const redis = createRedis(config.REDIS_URL, "campaign");
  // Per campaign version (loaders.ts): an entry is never stale, only unreachable once the version moves on.
  const cache = readModelCacheFor(redis, "campaign:read:", config);
  // The versions a campaign's answer names (service-kit answer-versions.ts), so the gateway may keep it until the next event.
  const versions = followCampaignVersions(redis, config, { logger: logger.child({ component: "answer-versions" }), connectionName: "campaign-answer-versions", follows: ["world", "campaign"] });
  const campaigns = createCampaignService(db, { afterCommit: () => relay.wake(), notificationTopic: config.NOTIFICATION_TOPIC, lifecycleTopic: config.LIFECYCLE_TOPIC });
  // A deleted account's memberships end (each PLAYER_LEFT); the subgraph is the one process campaign runs.
  const erasures = createAccountErasureConsumer({
    redis,
    topic: config.ACCOUNT_ERASURE_TOPIC,
    group: "campaign",
    logger: logger.child({ component: "account-erasures" }),
    erase: async (userId) => {
      const removed = await campaigns.removeMemberships(userId);
      logger.info({ memberships: removed }, "ended a deleted account's memberships");
    },
  });
  const app: SubgraphApp = createSubgraphApp({
    name: "campaign",
    config,
    logger,
    typeDefs: campaignTypeDefs,
    resolvers: createResolvers({ db, redis, campaigns, versions }),
    policies: campaignPolicies,
    createLoaders: (viewer) => createLoaders(db, viewer, cache),
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    // For the simulation worker pool (a signed SERVICE identity): seed, tick rate, members.
    postRoutes: worldSetupRoute({ db, gatewaySigningSecret: config.GATEWAY_SIGNING_SECRET, logger }),
    onListen: () => {
      relay.start();
      erasures.start();
      void versions.start().catch((error: unknown) => logger.error({ err: error }, "could not subscribe to campaign events; answers ask Redis for versions"));
    },
    onStop: async () => {
      versions.stop();
      await erasures.stop();
      await relay.stop();
      await db.$disconnect();
      redis.disconnect();
    },
  });
  const relay = prismaOutboxRelay(db, { producer: "campaign", redis, logger, metrics: app.metrics, config });
  return app;
}
