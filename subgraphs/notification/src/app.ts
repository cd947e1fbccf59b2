import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gql } from "graphql-tag";
import {
  createCampaignClient,
  createRedis,
  createSubgraphApp,
  databaseReadiness,
  prismaOutboxRelay,
  redisReadiness,
  type Logger,
  type SubgraphApp,
} from "@startales/service-kit";
import { alertmanagerRoute } from "./alerts/alertmanager-route";
import { createIdentityAdminsClient } from "./alerts/identity-admins";
import { webPushSettings, type NotificationConfig } from "./config";
import { createDb } from "./db";
import { createDeliveryQueue } from "./delivery/queue";
import { createNotificationService } from "./domain/notification-service";
import { inboxWakeChannel } from "./domain/notification-writer";
import { unsubscribeRoute } from "./email/unsubscribe-route";
import { notificationPolicies } from "./domain/policies";
import { createLoaders } from "./loaders";
import { createResolvers } from "./resolvers";
import { createSecretBox } from "./webhooks/secret-box";
import { createWebhookQueue } from "./webhooks/webhook-queue";
import { withWebhookResolvers } from "./webhooks/webhook-resolvers";
import { createWebhookService } from "./webhooks/webhook-service";
import { webhookUrlRules } from "./webhooks/webhook-settings";

export const notificationTypeDefs = gql(readFileSync(join(__dirname, "..", "schema.graphql"), "utf8"));

/**
 * The notification subgraph as a value; `listen()` starts it (port 0 in tests) and the outbox
 * relay, which publishes the inbox events of every notification written (here or by the
 * worker pool's consumer: they share the database). Deliveries run in the worker pool.
 */
export function createNotificationApp(config: NotificationConfig, logger: Logger): SubgraphApp {
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_POOL_TIMEOUT_MS);
  const redis = createRedis(config.REDIS_URL, "notification");
  const campaigns = createCampaignClient({ url: config.CAMPAIGN_URL, timeoutMs: config.CAMPAIGN_TIMEOUT_MS, logger: logger.child({ component: "campaign-client" }) });
  const queue = createDeliveryQueue(redis, { redisPrefix: config.NOTIFICATION_REDIS_PREFIX, attempts: config.DELIVERY_ATTEMPTS, logger });
  const service = createNotificationService({
    db,
    queue,
    push: Boolean(config.PUSH_URL),
    webPushKey: webPushSettings(config)?.publicKey ?? null,
    email: Boolean(config.SMTP_URL),
    campaignMembers: (loaders, campaignId) => campaigns.memberIds(loaders.forwarded, campaignId),
    afterCommit: () => relay.wake(),
    logger,
  });
  const webhookQueue = createWebhookQueue(redis, { redisPrefix: config.NOTIFICATION_REDIS_PREFIX, attempts: config.WEBHOOK_MAX_ATTEMPTS, logger });
  const webhooks = createWebhookService({ db, queue: webhookQueue, secrets: createSecretBox(config.WEBHOOK_SECRET_KEY), rules: webhookUrlRules(config), logger });
  const app: SubgraphApp = createSubgraphApp({
    name: "notification",
    config,
    logger,
    typeDefs: notificationTypeDefs,
    resolvers: withWebhookResolvers(createResolvers(service, { production: config.NODE_ENV === "production" }), webhooks, webhookUrlRules(config)),
    policies: notificationPolicies,
    createLoaders: (viewer, forwarded) => createLoaders(db, campaigns, viewer, forwarded),
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    postRoutes: alertmanagerRoute({
      token: config.ALERT_WEBHOOK_TOKEN,
      adminIds: createIdentityAdminsClient({
        identityUrl: config.IDENTITY_URL,
        secret: config.GATEWAY_SIGNING_SECRET,
        serviceId: config.NOTIFICATION_SERVICE_ID,
        timeoutMs: config.IDENTITY_TIMEOUT_MS,
        cacheMs: config.ALERT_ADMINS_CACHE_MS,
        logger: logger.child({ component: "identity-admins" }),
      }).adminIds,
      db,
      queue,
      webhookQueue,
      push: Boolean(config.PUSH_URL),
      webPush: webPushSettings(config) !== null,
      email: Boolean(config.SMTP_URL),
      afterCommit: () => relay.wake(),
      logger: logger.child({ component: "alert-receiver" }),
    }),
    // Every method (the page's GET, the one-click POST) under the prefix.
    protocolRoutes: unsubscribeRoute({ secret: config.UNSUBSCRIBE_SIGNING_SECRET, db, logger: logger.child({ component: "unsubscribe" }) }),
    onListen: () => relay.start(),
    onStop: async () => {
      await relay.stop();
      await queue.close();
      await webhookQueue.close();
      await db.$disconnect();
      redis.disconnect();
    },
  });
  const relay = prismaOutboxRelay(db, { producer: "notification", redis, logger, metrics: app.metrics, config, wakeChannel: inboxWakeChannel(config.NOTIFICATION_REDIS_PREFIX) });
  return app;
}
