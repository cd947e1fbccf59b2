import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gql } from "graphql-tag";
import {
  addScrapedGauge,
  campaignReadAccessFor,
  createCampaignClient,
  createRedis,
  createSubgraphApp,
  databaseReadiness,
  prismaOutboxRelay,
  readOnScrape,
  redisReadiness,
  type Logger,
  type SubgraphApp,
} from "@startales/service-kit";
import type { RealtimeConfig } from "./config";
import { createDb } from "./db";
import { createChatService } from "./domain/chat-service";
import { realtimePolicies } from "./domain/policies";
import { createPresenceService } from "./domain/presence-service";
import { recordSessionEnded } from "./domain/session-events";
import { createPresenceStore } from "./domain/presence-store";
import { createChannelRows, createLoaders } from "./loaders";
import { presenceRoutes } from "./presence-routes";
import { createResolvers } from "./resolvers";
import { createSideWork } from "./side-work";

export const realtimeTypeDefs = gql(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));

/** How long a presence write after a committed message is watched before it is logged as late. */
const SIDE_WORK_TIMEOUT_MS = 2_000;

export type RealtimeApp = SubgraphApp & {
  /** One presence sweep now (tests; the sweeper loop runs it every PRESENCE_SWEEP_MS). */
  sweepPresence(): Promise<number>;
};

/**
 * The realtime subgraph as a value; `listen()` starts it (port 0 in tests), its outbox relay
 * and its presence sweeper, which `stop()` stops after HTTP has drained.
 */
export function createRealtimeApp(config: RealtimeConfig, logger: Logger, options: { clock?: () => number } = {}): RealtimeApp {
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_POOL_TIMEOUT_MS);
  const redis = createRedis(config.REDIS_URL, "realtime");
  const campaigns = createCampaignClient({ url: config.CAMPAIGN_URL, timeoutMs: config.CAMPAIGN_TIMEOUT_MS, logger: logger.child({ component: "campaign-client" }) });
  // A message is resolved for its whole room, and every reader must be allowed: asked of
  // campaign once per caller and membership version, not once per message.
  const { versions, readAccess } = campaignReadAccessFor(redis, campaigns, config, { logger: logger.child({ component: "campaign-versions" }), connectionName: "realtime-campaign-versions", follows: ["campaign"] });
  const store = createPresenceStore(redis, { ttlMs: config.PRESENCE_TTL_MS, awayAfterMs: config.PRESENCE_AWAY_AFTER_MS, keyPrefix: config.PRESENCE_KEY_PREFIX });
  const presence = createPresenceService({
    redis,
    store,
    logger: logger.child({ component: "presence" }),
    streamMaxLen: config.PRESENCE_STREAM_MAX_LEN,
    sweepMs: config.PRESENCE_SWEEP_MS,
    ttlMs: config.PRESENCE_TTL_MS,
    clock: options.clock,
    // Each ended session to analytics, through the outbox.
    onSessionEnded: async (session) => {
      await recordSessionEnded(db, session);
      relay.wake();
    },
  });
  const chat = createChatService(db, { afterCommit: () => relay.wake() });
  // One per process: channel rows are shared by every request (they never change).
  const channelRows = createChannelRows(db);
  const sideWork = createSideWork({ timeoutMs: SIDE_WORK_TIMEOUT_MS });
  const app = createSubgraphApp({
    name: "realtime",
    config,
    logger,
    typeDefs: realtimeTypeDefs,
    resolvers: createResolvers({ chat, presence, store, sideWork }),
    policies: realtimePolicies,
    createLoaders: (viewer, forwarded) => createLoaders(db, channelRows, campaigns, readAccess, viewer, forwarded),
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    postRoutes: presenceRoutes({ secret: config.GATEWAY_SIGNING_SECRET, campaigns, store, presence, logger }),
    onListen: () => {
      // Until it is subscribed, every read asks Redis for the versions: slower, never stale.
      void versions.start().catch((error: unknown) => logger.error({ err: error }, "could not subscribe to campaign events; reads ask Redis for versions"));
      relay.start();
      presence.startSweeper();
    },
    onStop: async () => {
      await presence.stopSweeper();
      await sideWork.drain();
      await relay.stop();
      versions.stop();
      await db.$disconnect();
      redis.disconnect();
    },
  });
  const relay = prismaOutboxRelay(db, { producer: "realtime", redis, logger, metrics: app.metrics, config });
  const clock = options.clock ?? Date.now;
  // On presence's clock, as the connections' expiries are.
  const playersOnline = readOnScrape(() => store.playersOnline(clock()), { cacheMs: 5_000, timeoutMs: 2_000, logger, what: "players online", now: clock });
  addScrapedGauge(app.metrics, {
    name: "realtime_players_online",
    // Presence is shared by the replicas: each reports the same count (aggregate with max).
    help: "Users with at least one live WebSocket connection reported by the gateways, across campaigns",
    samples: async () => {
      const count = await playersOnline();
      return count === undefined ? undefined : [{ labels: {}, value: count }];
    },
  });
  return { ...app, sweepPresence: () => presence.sweep() };
}
