import type { Job } from "bullmq";
import {
  createMetrics,
  createRedis,
  createWorkerApp,
  prismaOutboxRelay,
  databaseReadiness,
  queueWorker,
  redisReadiness,
  retryDelayMs,
  SpanKind,
  withSpan,
  type Logger,
  type Service,
} from "@startales/service-kit";
import { createResponseCache } from "./cache/response-cache";
import type { ProviderConfig } from "./config";
import { createDb } from "./db";
import { createContentClient } from "./domain/content-client";
import { createContentStore } from "./domain/content-store";
import { createDeploymentRegistry } from "./domain/deployment-registry";
import { createJobEvents } from "./domain/job-events";
import { RetryLater, createJobRunner } from "./domain/job-runner";
import { createJobSweep } from "./domain/job-sweep";
import { createOfflineDriver } from "./drivers/offline-driver";
import { createOpenAiDriver } from "./drivers/openai-driver";
import { providerMetrics, recordUsage } from "./metrics";
import { findPocketsphinx } from "./offline/pocketsphinx";
import { PROVIDER_QUEUE, createJobQueue, queuePrefix, type QueueData } from "./queue";
import { createRouter } from "./routing/router";

export type ProviderWorker = Service & {
  metrics: ReturnType<typeof createMetrics>;
  /** One sweep of unfinished jobs now (tests; it also runs at start and every PROVIDER_SWEEP_MS); resolves to how many it queued again. */
  sweep(): Promise<number>;
};

/**
 * The provider worker pool as a value (createWorkerApp): a BullMQ worker that runs jobs
 * through the router, and the sweep that queues again jobs Redis lost. `stop()` lets running
 * jobs finish.
 */
export function createProviderWorker(config: ProviderConfig, logger: Logger, options: { clock?: () => number } = {}): ProviderWorker {
  const production = config.NODE_ENV === "production";
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_POOL_TIMEOUT_MS);
  const redis = createRedis(config.REDIS_URL, "provider-worker");
  const metrics = createMetrics("provider-worker");
  const series = providerMetrics(metrics);
  const stt = findPocketsphinx({ command: config.PROVIDER_POCKETSPHINX_COMMAND, modelDir: config.PROVIDER_POCKETSPHINX_MODEL });
  if (config.PROVIDER_OFFLINE && stt.missing) {
    // Said once, at start: without a vendor deployment every transcribeAudio is refused, and this is why.
    const vendorStt = config.PROVIDER_DEPLOYMENTS.some((d) => d.kind === "TRANSCRIPTION");
    logger[vendorStt ? "info" : "warn"]({ reason: stt.missing }, "no offline speech-to-text: transcription needs a vendor deployment");
  }
  const registry = createDeploymentRegistry(db, { fromEnv: config.PROVIDER_DEPLOYMENTS, offline: config.PROVIDER_OFFLINE, transcription: stt.engine !== null, production });
  const router = createRouter({
    deployments: () => registry.list(),
    fallbacks: config.PROVIDER_FALLBACKS,
    strategy: config.PROVIDER_ROUTING,
    health: { cooldownMs: config.PROVIDER_COOLDOWN_MS, failureThreshold: config.PROVIDER_CIRCUIT_FAILURES, openMs: config.PROVIDER_CIRCUIT_OPEN_MS },
    drivers: { OPENAI: createOpenAiDriver({ production }), OFFLINE: createOfflineDriver({ useEspeak: config.PROVIDER_ESPEAK, stt: stt.engine, sttConcurrency: config.PROVIDER_POCKETSPHINX_CONCURRENCY }) },
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
    media: createContentClient({
      url: config.CONTENT_URL,
      secret: config.GATEWAY_SIGNING_SECRET,
      serviceId: config.PROVIDER_SERVICE_ID,
      timeoutMs: config.CONTENT_TIMEOUT_MS,
      logger: logger.child({ component: "content-client" }),
    }),
    events: createJobEvents(redis, { streamMaxLen: 10_000, ttlSeconds: config.PROVIDER_STREAM_TTL_S }),
    prefix: config.PROVIDER_REDIS_PREFIX,
    maxOutputChars: config.PROVIDER_MAX_OUTPUT_CHARS,
    logger,
    hooks: {
      onCache: (kind, outcome) => series.cache.inc({ kind, outcome }),
      onFinished: (kind, status, cached) => {
        series.jobs.inc({ kind, status, cached: String(cached) });
        // Its usage record was committed with the result: publish it now, not at the next poll.
        relay.wake();
      },
    },
  });
  // Publishes the usage records (JOB_FINISHED) the runner commits with each result, to analytics' firehose.
  const relay = prismaOutboxRelay(db, { producer: "provider", redis, logger, metrics, config });

  const queue = createJobQueue(redis, config.PROVIDER_REDIS_PREFIX, config.PROVIDER_JOB_ATTEMPTS);
  const sweep = createJobSweep({
    db,
    queue,
    staleMs: config.PROVIDER_STALE_MS,
    everyMs: config.PROVIDER_SWEEP_MS,
    batchSize: config.PROVIDER_SWEEP_BATCH,
    logger: logger.child({ component: "job-sweep" }),
    onRequeued: (count) => series.requeued.inc(count),
  });

  const app = createWorkerApp({
    name: "provider worker pool",
    config,
    logger,
    metrics,
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    queues: [queue],
    workers: [
      queueWorker({
        queue: PROVIDER_QUEUE,
        prefix: queuePrefix(config.PROVIDER_REDIS_PREFIX),
        connection: redis,
        concurrency: config.PROVIDER_WORKER_CONCURRENCY,
        // Each attempt is a span in the trace of the request that created the job.
        processor: (job: Job<QueueData>) =>
          withSpan("provider-worker", "provider job", () => runner.run(job.data.jobId, { made: job.attemptsMade, max: job.opts.attempts ?? 1 }), {
            kind: SpanKind.CONSUMER,
            parent: job.data.traceparent ?? "root",
            attributes: { "startales.job_id": job.data.jobId, "startales.attempt": job.attemptsMade + 1 },
          }),
        options: {
          settings: {
            // Full-jitter exponential backoff, never sooner than the vendors' Retry-After.
            backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
              retryDelayMs(attemptsMade, { baseMs: config.PROVIDER_RETRY_BASE_MS, maxMs: config.PROVIDER_RETRY_MAX_MS, retryAfterMs: error instanceof RetryLater ? error.retryAfterMs : null }),
          },
        },
      }),
    ],
    parts: [
      { name: "job sweep", start: () => sweep.start(), stop: () => sweep.stop() },
      { name: "outbox relay", start: () => relay.start(), stop: () => relay.stop(), servesJobs: true },
    ],
    startedFields: async () => ({
      routing: config.PROVIDER_ROUTING,
      content: config.CONTENT_URL,
      deployments: (await registry.list()).map((d) => `${d.name} (${d.kind}, ${d.modelGroup})`),
    }),
    closers: [() => queue.close(), () => db.$disconnect(), () => redis.disconnect()],
  });

  return { ...app, metrics, sweep: () => sweep.sweep() };
}
