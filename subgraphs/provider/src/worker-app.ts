import { Worker } from "bullmq";
import {
  addQueueMetrics,
  createHttpService,
  createMetrics,
  createRedis,
  databaseReadiness,
  redisReadiness,
  retryDelayMs,
  sendJson,
  SpanKind,
  withSpan,
  type Logger,
  type Service,
} from "@startales/service-kit";
import { createResponseCache } from "./cache/response-cache";
import type { ProviderConfig } from "./config";
import { createDb } from "./db";
import { createContentStore } from "./domain/content-store";
import { createDeploymentRegistry } from "./domain/deployment-registry";
import { createJobEvents } from "./domain/job-events";
import { RetryLater, createJobRunner } from "./domain/job-runner";
import { createJobSweep } from "./domain/job-sweep";
import { createOfflineDriver } from "./drivers/offline-driver";
import { createOpenAiDriver } from "./drivers/openai-driver";
import { providerMetrics, recordUsage } from "./metrics";
import { PROVIDER_QUEUE, createJobQueue, queuePrefix, type QueueData } from "./queue";
import { createRouter } from "./routing/router";

export type ProviderWorker = Service & {
  metrics: ReturnType<typeof createMetrics>;
  /** One sweep of unfinished jobs now (tests; it also runs at start and every PROVIDER_SWEEP_MS); resolves to how many it queued again. */
  sweep(): Promise<number>;
};

/**
 * The provider worker pool as a value: a BullMQ worker that runs jobs through the router,
 * the sweep that queues again jobs Redis lost, and a small HTTP server for /health/* and
 * /metrics on PORT. `stop()` lets running jobs finish.
 */
export function createProviderWorker(config: ProviderConfig, logger: Logger, options: { clock?: () => number } = {}): ProviderWorker {
  const production = config.NODE_ENV === "production";
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const redis = createRedis(config.REDIS_URL, "provider-worker");
  const metrics = createMetrics("provider-worker");
  const series = providerMetrics(metrics);
  const registry = createDeploymentRegistry(db, { fromEnv: config.PROVIDER_DEPLOYMENTS, offline: config.PROVIDER_OFFLINE, production });
  const router = createRouter({
    deployments: () => registry.list(),
    fallbacks: config.PROVIDER_FALLBACKS,
    strategy: config.PROVIDER_ROUTING,
    health: { cooldownMs: config.PROVIDER_COOLDOWN_MS, failureThreshold: config.PROVIDER_CIRCUIT_FAILURES, openMs: config.PROVIDER_CIRCUIT_OPEN_MS },
    drivers: { OPENAI: createOpenAiDriver({ production }), OFFLINE: createOfflineDriver({ useEspeak: config.PROVIDER_ESPEAK }) },
    redis,
    prefix: config.PROVIDER_REDIS_PREFIX,
    maxOutputTokens: config.PROVIDER_MAX_OUTPUT_TOKENS,
    logger: logger.child({ component: "router" }),
    clock: options.clock,
    onCall: (deployment, outcome, seconds, usage) => {
      series.calls.inc({ deployment: deployment.name, outcome });
      if (seconds > 0) series.callSeconds.inc({ deployment: deployment.name }, seconds);
      if (usage) recordUsage(series, deployment, usage);
    },
  });
  const runner = createJobRunner({
    db,
    redis,
    router,
    cache: createResponseCache(redis, {
      prefix: config.PROVIDER_REDIS_PREFIX,
      entries: config.PROVIDER_CACHE_ENTRIES,
      ttlSeconds: {
        TEXT: config.PROVIDER_CACHE_TTL_TEXT_S,
        SPEECH: config.PROVIDER_CACHE_TTL_SPEECH_S,
        IMAGE: config.PROVIDER_CACHE_TTL_IMAGE_S,
        TRANSCRIPTION: config.PROVIDER_CACHE_TTL_TRANSCRIPTION_S,
      },
    }),
    content: createContentStore(db),
    events: createJobEvents(redis, { streamMaxLen: 10_000, ttlSeconds: config.PROVIDER_STREAM_TTL_S }),
    prefix: config.PROVIDER_REDIS_PREFIX,
    maxOutputChars: config.PROVIDER_MAX_OUTPUT_CHARS,
    logger,
    hooks: {
      onCache: (kind, outcome) => series.cache.inc({ kind, outcome }),
      onFinished: (kind, status, cached) => series.jobs.inc({ kind, status, cached: String(cached) }),
    },
  });

  const queue = createJobQueue(redis, config.PROVIDER_REDIS_PREFIX, config.PROVIDER_JOB_ATTEMPTS);
  const queueMetrics = addQueueMetrics(metrics, [queue], { logger });
  const sweep = createJobSweep({
    db,
    queue,
    staleMs: config.PROVIDER_STALE_MS,
    everyMs: config.PROVIDER_SWEEP_MS,
    batchSize: config.PROVIDER_SWEEP_BATCH,
    logger: logger.child({ component: "job-sweep" }),
    onRequeued: (count) => series.requeued.inc(count),
  });

  let worker: Worker<QueueData> | undefined;
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
    async listen() {
      worker = new Worker<QueueData>(
        PROVIDER_QUEUE,
        // Each attempt is a span in the trace of the request that created the job.
        (job) =>
          withSpan("provider-worker", "provider job", () => runner.run(job.data.jobId, { made: job.attemptsMade, max: job.opts.attempts ?? 1 }), {
            kind: SpanKind.CONSUMER,
            parent: job.data.traceparent ?? "root",
            attributes: { "startales.job_id": job.data.jobId, "startales.attempt": job.attemptsMade + 1 },
          }),
        {
          connection: redis,
          prefix: queuePrefix(config.PROVIDER_REDIS_PREFIX),
          concurrency: config.PROVIDER_WORKER_CONCURRENCY,
          settings: {
            // Full-jitter exponential backoff, never sooner than the vendors' Retry-After.
            backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
              retryDelayMs(attemptsMade, { baseMs: config.PROVIDER_RETRY_BASE_MS, maxMs: config.PROVIDER_RETRY_MAX_MS, retryAfterMs: error instanceof RetryLater ? error.retryAfterMs : null }),
          },
        },
      );
      worker.on("failed", (job, error) => logger.warn({ jobId: job?.data.jobId, attemptsMade: job?.attemptsMade, reason: error.message }, "provider job attempt failed"));
      worker.on("error", (error) => logger.error({ err: error }, "provider worker error"));
      queueMetrics.watch(worker);
      await worker.waitUntilReady();
      sweep.start();
      const deployments = await registry.list();
      logger.info(
        { concurrency: config.PROVIDER_WORKER_CONCURRENCY, routing: config.PROVIDER_ROUTING, deployments: deployments.map((d) => `${d.name} (${d.kind}, ${d.modelGroup})`) },
        "provider worker pool started",
      );
      return http.listen(config.PORT, config.HOST);
    },
    async stop() {
      await http.close(config.SHUTDOWN_GRACE_MS);
      await sweep.stop();
      await worker?.close();
      await queue.close();
      await db.$disconnect();
      redis.disconnect();
    },
  };
}
