import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gql } from "graphql-tag";
import {
  createOutboxRelay,
  createRedis,
  createSubgraphApp,
  databaseReadiness,
  prismaOutboxSource,
  redisReadiness,
  type Logger,
  type SubgraphApp,
} from "@startales/service-kit";
import type { CampaignConfig } from "./config";
import { createDb } from "./db";
import { createCampaignService } from "./domain/campaign-service";
import { campaignPolicies } from "./domain/policies";
import { createLoaders } from "./loaders";

import { createResolvers } from "./resolvers";

export const campaignTypeDefs = gql(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));

/**
 * The campaign subgraph as a value; `listen()` starts it (port 0 in tests) and its outbox
 * relay, which `stop()` stops after HTTP has drained and before the database closes.
 */
export function createCampaignApp(config: CampaignConfig, logger: Logger): SubgraphApp {
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const redis = createRedis(config.REDIS_URL, "campaign");
  const app = createSubgraphApp({
    name: "campaign",
    config,
    logger,
    typeDefs: campaignTypeDefs,
    resolvers: createResolvers({ db, campaigns: createCampaignService(db, { afterCommit: () => relay.wake() }) }),
    policies: campaignPolicies,
    createLoaders: (viewer) => createLoaders(db, viewer),
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    onStop: async () => {
      await relay.stop();
      await db.$disconnect();
      redis.disconnect();
    },
  });
  const relay = createOutboxRelay({
    source: prismaOutboxSource(db),
    redis,
    logger: logger.child({ component: "outbox-relay" }),
    metrics: app.metrics,
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollMs: config.OUTBOX_POLL_MS,
    streamMaxLen: config.EVENT_STREAM_MAX_LEN,
  });
  return {
    ...app,
    async listen() {
      const url = await app.listen();
      relay.start();
      return url;
    },
  };
}
