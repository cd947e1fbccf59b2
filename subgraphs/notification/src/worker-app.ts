import type { Job } from "bullmq";
import {
  createAccountErasureConsumer,
  addCounter,
  createMetrics,
  createRedis,
  createWorkerApp,
  databaseReadiness,
  outboxWaker,
  periodicTask,
  queueWorker,
  redisReadiness,
  retryDelayMs,
  type Logger,
  type Service,
} from "@startales/service-kit";
import { emailSettings, webPushSettings, type NotificationConfig } from "./config";
import { inboxWakeChannel } from "./domain/notification-writer";
import { createDb } from "./db";
import { RetryDelivery, createDeliveryRunner } from "./delivery/delivery-runner";
import { createEmailClient } from "./delivery/email-client";
import { createEmailSender } from "./delivery/email-sender";
import { createAccountMailConsumer } from "./email/account-mail-consumer";
import { createAccountMailSender } from "./email/account-mail-sender";
import { createIdentityMailClient } from "./email/identity-mail";
import { createEventConsumer } from "./delivery/event-consumer";
import { createPushClient } from "./delivery/push-client";
import { createWebPushClient } from "./delivery/web-push-client";
import { DELIVERY_QUEUE, createDeliveryQueue, deliveryIdsOf, queuePrefix, type DeliveryJob } from "./delivery/queue";
import { createDeliverySweep } from "./delivery/sweep";
import { createDailyDigest } from "./digest/daily-digest";
import { eraseAccount } from "./domain/account-erasure";
import { createSecretBox } from "./webhooks/secret-box";
import { RetryWebhook, createWebhookRunner } from "./webhooks/webhook-runner";
import { WEBHOOK_QUEUE, createWebhookQueue, type WebhookJob } from "./webhooks/webhook-queue";
import { createWebhookSender } from "./webhooks/webhook-sender";
import { webhookUrlRules } from "./webhooks/webhook-settings";
import { createWebhookSweep } from "./webhooks/webhook-sweep";

export type NotificationWorker = Service & {
  metrics: ReturnType<typeof createMetrics>;
  /** One sweep of stale PENDING deliveries now (tests; it also runs every DELIVERY_SWEEP_MS). */
  sweep(): Promise<number>;
  /** Deletes notifications past NOTIFICATION_RETENTION_DAYS now (tests; each sweep does it too). */
  purge(): Promise<number>;
  /** One pass of the daily digest at `now` (tests; it also runs every DIGEST_INTERVAL_MS): how many digests it wrote. */
  digest(now?: Date): Promise<number>;
  /** The notification-request topic it consumes (NOTIFICATION_TOPIC). */
  topic: string;
  /** One sweep of stale PENDING webhook deliveries now (tests; it also runs every DELIVERY_SWEEP_MS). */
  sweepWebhooks(): Promise<number>;
};

/**
 * The notification worker pool as a value (createWorkerApp): push deliveries from the BullMQ
 * queue, the consumer of other services' notification requests and the sweep of stale
 * deliveries. `stop()` lets running work finish.
 */
export function createNotificationWorker(config: NotificationConfig, logger: Logger): NotificationWorker {
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_POOL_TIMEOUT_MS);
  const redis = createRedis(config.REDIS_URL, "notification-worker");
  const metrics = createMetrics("notification-worker");
  // Labels are bounded: statuses, the push service's error codes, three outcomes.
  const deliveries = addCounter(metrics, { name: "notification_deliveries_total", help: "Deliveries finished, by status and error code", labelNames: ["status", "code"] as const });
  const events = addCounter(metrics, { name: "notification_requests_consumed_total", help: "Notification requests read from the integration stream, by outcome", labelNames: ["outcome"] as const });
  const push = config.PUSH_URL
    ? createPushClient({ url: config.PUSH_URL, projectId: config.PUSH_PROJECT_ID, accessToken: config.PUSH_ACCESS_TOKEN ?? "", timeoutMs: config.PUSH_TIMEOUT_MS })
    : null;
  const webPushConfig = webPushSettings(config);
  const webPush = webPushConfig ? createWebPushClient(webPushConfig, { timeoutMs: config.PUSH_TIMEOUT_MS, production: config.NODE_ENV === "production" }) : null;
  const queue = createDeliveryQueue(redis, { redisPrefix: config.NOTIFICATION_REDIS_PREFIX, attempts: config.DELIVERY_ATTEMPTS, logger });
  const emailConfig = emailSettings(config);
  const email = emailConfig ? createEmailClient(emailConfig) : null;
  const identityMail = createIdentityMailClient({ identityUrl: config.IDENTITY_URL, secret: config.GATEWAY_SIGNING_SECRET, serviceId: config.NOTIFICATION_SERVICE_ID, timeoutMs: config.IDENTITY_TIMEOUT_MS });
  const emailSender = email
    ? createEmailSender({
        db,
        email,
        identity: identityMail,
        unsubscribeSecret: config.UNSUBSCRIBE_SIGNING_SECRET,
        publicBaseUrl: config.NOTIFICATION_PUBLIC_BASE_URL,
        logger: logger.child({ component: "email" }),
      })
    : null;
  const accountMail = email ? createAccountMailSender({ db, email, identity: identityMail, logger: logger.child({ component: "account-mail" }) }) : null;
  const runner = createDeliveryRunner({ db, push, webPush, email: emailSender, logger, onOutcome: (status, code) => deliveries.inc({ status, code: code ?? "" }) });
  const consumer = createEventConsumer({
    redis,
    topic: config.NOTIFICATION_TOPIC,
    db,
    queue,
    push: push !== null,
    webPush: webPush !== null,
    email: email !== null,
    logger: logger.child({ component: "events" }),
    blockMs: config.EVENTS_BLOCK_MS,
    claimIdleMs: config.EVENTS_CLAIM_IDLE_MS,
    maxDeliveries: config.EVENTS_MAX_DELIVERIES,
    onEvent: (outcome) => events.inc({ outcome }),
    // Its inbox events are published by the subgraph's relay: woken now, not at its next poll.
    afterCommit: outboxWaker(redis, inboxWakeChannel(config.NOTIFICATION_REDIS_PREFIX), logger),
    // The group's lag and pending entries (stream_consumer_lag, stream_consumer_pending).
    metrics,
  });
  const erasures = createAccountErasureConsumer({
    redis,
    topic: config.ACCOUNT_ERASURE_TOPIC,
    group: "notification",
    logger: logger.child({ component: "account-erasures" }),
    erase: async (userId) => {
      const erased = await eraseAccount(db, redis, userId);
      logger.info({ erased }, "erased a deleted account's notifications, devices and preferences");
    },
    blockMs: config.EVENTS_BLOCK_MS,
    claimIdleMs: config.EVENTS_CLAIM_IDLE_MS,
    maxDeliveries: config.EVENTS_MAX_DELIVERIES,
  });
  const webhookDeliveries = addCounter(metrics, { name: "notification_webhook_deliveries_total", help: "Outgoing webhook attempts, by outcome", labelNames: ["outcome"] as const });
  const webhookQueue = createWebhookQueue(redis, { redisPrefix: config.NOTIFICATION_REDIS_PREFIX, attempts: config.WEBHOOK_MAX_ATTEMPTS, logger });
  const webhookSender = createWebhookSender({ timeoutMs: config.WEBHOOK_TIMEOUT_MS, rules: webhookUrlRules(config) });
  const runWebhook = createWebhookRunner({
    db,
    sender: webhookSender,
    secrets: createSecretBox(config.WEBHOOK_SECRET_KEY),
    retry: { baseMs: config.WEBHOOK_RETRY_BASE_MS, maxMs: config.WEBHOOK_RETRY_MAX_MS },
    logger: logger.child({ component: "webhooks" }),
    onOutcome: (outcome) => webhookDeliveries.inc({ outcome }),
  });
  const webhookSweep = createWebhookSweep({ db, queue: webhookQueue, staleMs: config.DELIVERY_STALE_MS, everyMs: config.DELIVERY_SWEEP_MS, logger });
  const accountMails = createAccountMailConsumer({
    redis,
    topic: config.ACCOUNT_MAIL_TOPIC,
    queue,
    emailOn: accountMail !== null,
    logger: logger.child({ component: "account-mail" }),
    blockMs: config.EVENTS_BLOCK_MS,
    claimIdleMs: config.EVENTS_CLAIM_IDLE_MS,
    maxDeliveries: config.EVENTS_MAX_DELIVERIES,
  });
  const sweep = createDeliverySweep({
    db,
    queue,
    staleMs: config.DELIVERY_STALE_MS,
    everyMs: config.DELIVERY_SWEEP_MS,
    retentionDays: config.NOTIFICATION_RETENTION_DAYS,
    logger,
  });

  const digest = createDailyDigest({ db, queue, push: push !== null, webPush: webPush !== null, email: email !== null, logger: logger.child({ component: "digest" }) });
  const digestTask = periodicTask(() => digest.run(), { everyMs: config.DIGEST_INTERVAL_MS, logger, failure: "daily digest pass failed; the next pass tries again" });

  const app = createWorkerApp({
    name: "notification worker pool",
    config,
    logger,
    metrics,
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    queues: [queue.queue, webhookQueue.queue],
    workers: [
      queueWorker({
        queue: DELIVERY_QUEUE,
        prefix: queuePrefix(config.NOTIFICATION_REDIS_PREFIX),
        connection: redis,
        concurrency: config.DELIVERY_CONCURRENCY,
        // Deliveries whose recipient is in quiet hours are put off until they end (queue.ts).
        processor: (job: Job<DeliveryJob>, token?: string) =>
          "accountMail" in job.data
            ? (accountMail?.send(job.data.accountMail, { made: job.attemptsMade, max: job.opts.attempts ?? 1 }) ?? Promise.resolve("EMAIL_OFF"))
            : runner.runBatch(deliveryIdsOf(job.data), { made: job.attemptsMade, max: job.opts.attempts ?? 1 }, queue.deferrer(job, token)),
        options: {
          settings: {
            backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
              retryDelayMs(attemptsMade, {
                baseMs: config.DELIVERY_RETRY_BASE_MS,
                maxMs: config.DELIVERY_RETRY_MAX_MS,
                retryAfterMs: error instanceof RetryDelivery ? error.retryAfterMs : null,
              }),
          },
        },
      }),
      queueWorker({
        queue: WEBHOOK_QUEUE,
        prefix: queuePrefix(config.NOTIFICATION_REDIS_PREFIX),
        connection: redis,
        concurrency: config.WEBHOOK_CONCURRENCY,
        processor: (job: Job<WebhookJob>) => runWebhook(job.data.deliveryId, { made: job.attemptsMade, max: job.opts.attempts ?? 1 }),
        options: {
          settings: {
            // The runner chose the wait and wrote it to the row as nextAttemptAt.
            backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
              error instanceof RetryWebhook ? error.delayMs : retryDelayMs(attemptsMade, { baseMs: config.WEBHOOK_RETRY_BASE_MS, maxMs: config.WEBHOOK_RETRY_MAX_MS }),
          },
        },
      }),
    ],
    parts: [
      { name: "notification request consumer", start: () => consumer.start(), stop: () => consumer.stop() },
      { name: "account erasure consumer", start: () => erasures.start(), stop: () => erasures.stop() },
      { name: "account mail consumer", start: () => accountMails.start(), stop: () => accountMails.stop() },
      { name: "delivery sweep", start: () => sweep.start(), stop: () => sweep.stop() },
      { name: "webhook sweep", start: () => webhookSweep.start(), stop: () => webhookSweep.stop() },
      { name: "daily digest", start: () => digestTask.start(), stop: () => digestTask.stop() },
    ],
    startedFields: () => ({ push: push ? "on" : "off (PUSH_URL unset)", webPush: webPush ? "on" : "off (WEB_PUSH_VAPID_* unset)", email: email ? "on" : "off (SMTP_URL unset)" }),
    closers: [() => queue.close(), () => webhookQueue.close(), () => webhookSender.close(), () => db.$disconnect(), () => redis.disconnect(), () => push?.close(), () => webPush?.close(), () => email?.close()],
  });

  return { ...app, metrics, sweep: () => sweep.sweep(), purge: () => sweep.purge(), digest: (now?: Date) => digest.run(now), topic: config.NOTIFICATION_TOPIC, sweepWebhooks: () => webhookSweep.sweep() };
}
