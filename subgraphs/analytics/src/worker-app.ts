import { FIREHOSE_WRITERS, addCounter, createMetrics, createRedis, createWorkerApp, periodicTask, redisReadiness, type Logger, type Service } from "@startales/service-kit";
import type { AnalyticsConfig } from "./config";
import { createFirehoseIngest } from "./ingest/firehose-ingest";
import { createStore, type AnalyticsStore } from "./store";

export type AnalyticsWorker = Service & {
  metrics: ReturnType<typeof createMetrics>;
  /** Where it keeps what it reads (ANALYTICS_STORE). */
  store: AnalyticsStore;
  /** The firehose topics it reads, one per producer. */
  topics: string[];
  /** One partition sweep now (tests; it also runs every ANALYTICS_PARTITION_SWEEP_MS). */
  sweep(): Promise<{ dropped: string[] }>;
};

/**
 * The analytics worker pool (the ingest) as a value (createWorkerApp): every producer's
 * firehose read as the consumer group `analytics` into the raw events and their rollups, and
 * the partition sweep (today's and tomorrow's made, those past the retention dropped). It
 * runs no BullMQ queue: a firehose is its work list. `stop()` lets the batch in flight commit.
 */
export function createAnalyticsWorker(config: AnalyticsConfig, logger: Logger): AnalyticsWorker {
  const store = createStore(config, logger);
  const redis = createRedis(config.REDIS_URL, "analytics-worker");
  const metrics = createMetrics("analytics-worker");
  // Labels are bounded: the producers with an outbox, and the consumer's outcomes.
  const ingested = addCounter(metrics, { name: "analytics_events_ingested_total", help: "Firehose events read, by producer and outcome", labelNames: ["producer", "outcome"] as const });
  // From 0, so the first dead letter after a start is an increase an alert sees.
  for (const producer of FIREHOSE_WRITERS) for (const outcome of ["dead-lettered", "invalid"] as const) ingested.inc({ producer, outcome }, 0);
  const ingest = createFirehoseIngest({
    redis,
    store,
    prefix: config.EVENT_FIREHOSE_PREFIX,
    logger: logger.child({ component: "ingest" }),
    batchSize: config.INGEST_BATCH_SIZE,
    blockMs: config.INGEST_BLOCK_MS,
    claimIdleMs: config.INGEST_CLAIM_IDLE_MS,
    maxDeliveries: config.INGEST_MAX_DELIVERIES,
    onOutcome: (producer, outcome) => ingested.inc({ producer, outcome }),
    // Each firehose's lag and pending entries (stream_consumer_lag, stream_consumer_pending).
    metrics,
  });
  const sweep = periodicTask(() => store.sweep(), { everyMs: config.ANALYTICS_PARTITION_SWEEP_MS, logger, failure: "the raw event partition sweep failed; retrying at the next" });

  const app = createWorkerApp({
    name: "analytics worker pool",
    config,
    logger,
    metrics,
    readiness: [store.readiness, redisReadiness(redis)],
    workers: [],
    queues: [],
    parts: [
      { name: "partition sweep", start: () => sweep.start(), stop: () => sweep.stop() },
      { name: "firehose ingest", start: () => ingest.start(), stop: () => ingest.stop() },
    ],
    startedFields: () => ({ firehoses: ingest.topics, rawRetentionDays: config.ANALYTICS_RAW_RETENTION_DAYS }),
    closers: [() => store.close(), () => redis.disconnect()],
  });

  return { ...app, metrics, store, topics: ingest.topics, sweep: () => store.sweep() };
}
