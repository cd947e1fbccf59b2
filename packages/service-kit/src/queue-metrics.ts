import type { Logger } from "./logger";
import { addCounter, type Metrics } from "./metrics";
import { addScrapedGauge, readOnScrape } from "./scraped-gauge";

/** The BullMQ job states counted per queue (completed jobs are bookkeeping, trimmed by removeOnComplete). */
export const QUEUE_STATES = ["waiting", "prioritized", "delayed", "active", "failed"] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** What is needed of a BullMQ Queue: a structural type, so a test can count a stand-in. */
export type CountedQueue = { name: string; getJobCounts(...types: QueueState[]): Promise<Record<string, number>> };
/** What is needed of a BullMQ Worker: it emits `stalled` for each job whose lock lapsed that its stalled check found. */
export type StallReporter = { name: string; on(event: "stalled", listener: (jobId: string, prev: string) => void): unknown };

export type QueueMetrics = {
  /** Counts the stalled jobs this worker's stalled check finds, under its queue's name. */
  watch(worker: StallReporter): void;
};

/**
 * Depth of a worker pool's BullMQ queues, labelled by queue name (a fixed set per pool):
 * `bullmq_queue_jobs{queue,state}` read from Redis when scraped (one round trip per queue,
 * at most every `cacheMs`), and `bullmq_jobs_stalled_total{queue}`, jobs whose worker lost
 * their lock (it died, or its event loop was blocked longer than the lock) and that another
 * worker took back. Every replica of a pool reports the same queues: aggregate with max, not sum.
 */
export function addQueueMetrics(metrics: Metrics, queues: readonly CountedQueue[], options: { cacheMs?: number; timeoutMs?: number; logger?: Logger } = {}): QueueMetrics {
  const counts = readOnScrape(() => Promise.all(queues.map(async (queue) => ({ queue: queue.name, counts: await queue.getJobCounts(...QUEUE_STATES) }))), {
    cacheMs: options.cacheMs ?? 5_000,
    timeoutMs: options.timeoutMs ?? 2_000,
    logger: options.logger,
    what: "BullMQ queue counts",
  });
  addScrapedGauge(metrics, {
    name: "bullmq_queue_jobs",
    help: "Jobs in each BullMQ queue of this worker pool, by state (waiting, prioritized, delayed, active, failed)",
    labelNames: ["queue", "state"] as const,
    samples: async () => (await counts())?.flatMap(({ queue, counts: byState }) => QUEUE_STATES.map((state) => ({ labels: { queue, state }, value: byState[state] ?? 0 }))),
  });
  const stalled = addCounter(metrics, { name: "bullmq_jobs_stalled_total", help: "Jobs whose worker lost their lock, found by this process's stalled checks, by queue", labelNames: ["queue"] as const });
  // At 0 from the start: a rate over a series that appears with its first stall misses that stall.
  for (const queue of queues) stalled.inc({ queue: queue.name }, 0);
  return {
    watch(worker) {
      worker.on("stalled", () => stalled.inc({ queue: worker.name }));
    },
  };
}
