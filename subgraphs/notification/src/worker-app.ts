import { Worker } from "bullmq";
import {
  addCounter,
  addQueueMetrics,
  createHttpService,
  createMetrics,
  createRedis,
  databaseReadiness,
  redisReadiness,
  retryDelayMs,
  sendJson,
  type Logger,
  type Service,
} from "@startales/service-kit";
import type { NotificationConfig } from "./config";
import { createDb } from "./db";
import { RetryDelivery, createDeliveryRunner } from "./delivery/delivery-runner";
import { createEventConsumer } from "./delivery/event-consumer";
import { createPushClient } from "./delivery/push-client";
import { DELIVERY_QUEUE, createDeliveryQueue, queuePrefix, type DeliveryJob } from "./delivery/queue";
import { createDeliverySweep } from "./delivery/sweep";

export type NotificationWorker = Service & {
  metrics: ReturnType<typeof createMetrics>;
  /** One sweep of stale PENDING deliveries now (tests; it also runs every DELIVERY_SWEEP_MS). */
  sweep(): Promise<number>;
  /** Deletes notifications past NOTIFICATION_RETENTION_DAYS now (tests; each sweep does it too). */
  purge(): Promise<number>;
  /** The notification-request topic it consumes (NOTIFICATION_TOPIC). */
  topic: string;
};

/**
 * The notification worker pool as a value: push deliveries from the BullMQ queue, the
 * consumer of other services' notification requests, the sweep of stale deliveries, and a
 * small HTTP server for /health/* and /metrics on PORT. `stop()` lets running work finish.
 */
export function createNotificationWorker(config: NotificationConfig, logger: Logger): NotificationWorker {
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const redis = createRedis(config.REDIS_URL, "notification-worker");
  const metrics = createMetrics("notification-worker");
  // Labels are bounded: statuses, the push service's error codes, three outcomes.
  const deliveries = addCounter(metrics, { name: "notification_deliveries_total", help: "Deliveries finished, by status and error code", labelNames: ["status", "code"] as const });
  const events = addCounter(metrics, { name: "notification_requests_consumed_total", help: "Notification requests read from the integration stream, by outcome", labelNames: ["outcome"] as const });
  const push = config.PUSH_URL
    ? createPushClient({ url: config.PUSH_URL, projectId: config.PUSH_PROJECT_ID, accessToken: config.PUSH_ACCESS_TOKEN ?? "", timeoutMs: config.PUSH_TIMEOUT_MS })
    : null;
  const queue = createDeliveryQueue(redis, { redisPrefix: config.NOTIFICATION_REDIS_PREFIX, attempts: config.DELIVERY_ATTEMPTS, logger });
  const queueMetrics = addQueueMetrics(metrics, [queue.queue], { logger });
  const runner = createDeliveryRunner({ db, push, logger, onOutcome: (status, code) => deliveries.inc({ status, code: code ?? "" }) });
  const consumer = createEventConsumer({
    redis,
    topic: config.NOTIFICATION_TOPIC,
    db,
    queue,
    push: push !== null,
    logger: logger.child({ component: "events" }),
    blockMs: config.EVENTS_BLOCK_MS,
    claimIdleMs: config.EVENTS_CLAIM_IDLE_MS,
    maxDeliveries: config.EVENTS_MAX_DELIVERIES,
    onEvent: (outcome) => events.inc({ outcome }),
    // The group's lag and pending entries (stream_consumer_lag, stream_consumer_pending).
    metrics,
  });
  const sweep = createDeliverySweep({
    db,
    queue,
    staleMs: config.DELIVERY_STALE_MS,
    everyMs: config.DELIVERY_SWEEP_MS,
    retentionDays: config.NOTIFICATION_RETENTION_DAYS,
    logger,
  });

  let worker: Worker<DeliveryJob> | undefined;
  const http = createHttpService({
    logger,
    metrics,
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    fallback: (_req, res) => sendJson(res, 404, { error: "not found" }),
    timeouts: config,
  });

  return {
    metrics,
    sweep: () => sweep.sweep(),
    purge: () => sweep.purge(),
    topic: config.NOTIFICATION_TOPIC,
    async listen() {
      worker = new Worker<DeliveryJob>(DELIVERY_QUEUE, async (job) => runner.run(job.data.deliveryId, { made: job.attemptsMade, max: job.opts.attempts ?? 1 }), {
        connection: redis,
        prefix: queuePrefix(config.NOTIFICATION_REDIS_PREFIX),
        concurrency: config.DELIVERY_CONCURRENCY,
        settings: {
          backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
            retryDelayMs(attemptsMade, {
              baseMs: config.DELIVERY_RETRY_BASE_MS,
              maxMs: config.DELIVERY_RETRY_MAX_MS,
              retryAfterMs: error instanceof RetryDelivery ? error.retryAfterMs : null,
            }),
        },
      });
      worker.on("failed", (job, error) => logger.warn({ deliveryId: job?.data.deliveryId, attemptsMade: job?.attemptsMade, reason: error.message }, "delivery attempt failed"));
      worker.on("error", (error) => logger.error({ err: error }, "notification worker error"));
      queueMetrics.watch(worker);
      await worker.waitUntilReady();
      consumer.start();
      sweep.start();
      logger.info({ concurrency: config.DELIVERY_CONCURRENCY, push: push ? "on" : "off (PUSH_URL unset)" }, "notification worker pool started");
      return http.listen(config.PORT, config.HOST);
    },
    async stop() {
      await http.close(config.SHUTDOWN_GRACE_MS);
      await consumer.stop();
      await sweep.stop();
      await worker?.close();
      await queue.close();
      await db.$disconnect();
      redis.disconnect();
    },
  };
}
