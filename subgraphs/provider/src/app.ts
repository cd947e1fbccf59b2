import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gql } from "graphql-tag";
import { createCampaignClient, createRedis, createSubgraphApp, databaseReadiness, redisReadiness, type Logger, type SubgraphApp } from "@startales/service-kit";
import { contentOrigin, type ProviderConfig } from "./config";
import { CONTENT_PREFIX, contentRoute } from "./content-route";
import { createDb } from "./db";
import { createContentReader } from "./domain/content-reader";
import { createContentStore } from "./domain/content-store";
import { createDeploymentRegistry } from "./domain/deployment-registry";
import { createJobEvents } from "./domain/job-events";
import { createJobService } from "./domain/job-service";
import { providerPolicies } from "./domain/policies";
import { createLoaders } from "./loaders";
import { findPocketsphinx } from "./offline/pocketsphinx";
import { createJobQueue } from "./queue";
import { createResolvers } from "./resolvers";

export const providerTypeDefs = gql(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));

/**
 * The provider subgraph as a value; `listen()` starts it (port 0 in tests). It creates jobs
 * and serves their results; the worker pool (worker-app.ts) runs them and stores generated
 * audio and images in the content subgraph. It still serves the bytes it kept before that.
 */
export function createProviderApp(config: ProviderConfig, logger: Logger): SubgraphApp {
  const production = config.NODE_ENV === "production";
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_POOL_TIMEOUT_MS);
  const redis = createRedis(config.REDIS_URL, "provider");
  const queue = createJobQueue(redis, config.PROVIDER_REDIS_PREFIX, config.PROVIDER_JOB_ATTEMPTS);
  const content = createContentStore(db);
  const events = createJobEvents(redis, { streamMaxLen: 10_000, ttlSeconds: config.PROVIDER_STREAM_TTL_S });
  // Looked for here too: transcribeAudio is refused up front when no engine could run it.
  const stt = findPocketsphinx({ command: config.PROVIDER_POCKETSPHINX_COMMAND, modelDir: config.PROVIDER_POCKETSPHINX_MODEL });
  const registry = createDeploymentRegistry(db, { fromEnv: config.PROVIDER_DEPLOYMENTS, offline: config.PROVIDER_OFFLINE, transcription: stt.engine !== null, production, refreshMs: 0 });
  const campaigns = createCampaignClient({ url: config.CAMPAIGN_URL, timeoutMs: config.CAMPAIGN_TIMEOUT_MS, logger: logger.child({ component: "campaign-client" }) });
  const budget = (prefix: "PLAYER" | "CAMPAIGN") => ({
    requests: config[`PROVIDER_BUDGET_${prefix}_REQUESTS`],
    tokens: config[`PROVIDER_BUDGET_${prefix}_TOKENS`],
    costMicros: config[`PROVIDER_BUDGET_${prefix}_COST_MICROS`],
  });
  const jobs = createJobService({
    db,
    queue,
    events,
    campaigns,
    content,
    registry,
    budgets: { windowMs: config.PROVIDER_BUDGET_WINDOW_MS, player: budget("PLAYER"), campaign: budget("CAMPAIGN") },
  });
  // Content URLs name the gateway's public origin; `self` learns this process's port once it listens.
  let origin = contentOrigin(config, `http://${config.HOST}:${config.PORT}`);
  const app = createSubgraphApp({
    name: "provider",
    config,
    logger,
    typeDefs: providerTypeDefs,
    resolvers: createResolvers({
      db,
      jobs,
      events,
      registry,
      redis,
      config,
      production,
      contentUrl: (sha) => `${origin}${CONTENT_PREFIX}${sha}`,
      contentAssets: createContentReader({ url: config.CONTENT_URL, timeoutMs: config.CONTENT_TIMEOUT_MS, logger: logger.child({ component: "content-reader" }) }),
    }),
    policies: providerPolicies,
    createLoaders: (viewer, forwarded) => createLoaders(db, viewer, forwarded),
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    prefixRoutes: contentRoute(content),
    onStop: async () => {
      await queue.close();
      await db.$disconnect();
      redis.disconnect();
    },
  });
  return {
    ...app,
    async listen() {
      const url = await app.listen();
      origin = contentOrigin(config, url);
      const deployments = await registry.list();
      logger.info({ deployments: deployments.map((d) => `${d.name} (${d.kind}, ${d.modelGroup})`), contentOrigin: origin }, "provider deployments");
      return url;
    },
  };
}
