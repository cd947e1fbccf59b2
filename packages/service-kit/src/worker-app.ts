import { Worker, type ConnectionOptions, type Job, type Processor, type WorkerOptions } from "bullmq";
import type { HttpTimeouts } from "./config";
import type { ReadinessCheck } from "./health";
import { createHttpService, sendJson } from "./http-server";
import type { Service } from "./lifecycle";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { addQueueMetrics, type CountedQueue } from "./queue-metrics";

/** One BullMQ worker of a pool, as its app declares it. */
export type WorkerSpec<Data, Result> = {
  queue: string;
  /** BullMQ's key prefix: each pool (and each test stack) keeps its queues under its own. */
  prefix: string;
  connection: ConnectionOptions;
  /** Jobs of this queue one process runs at once. */
  concurrency: number;
  processor: Processor<Data, Result>;
  /** The rest of BullMQ's settings: lock and stalled-check timings, `settings.backoffStrategy`. */
  options?: Omit<WorkerOptions, "connection" | "prefix" | "concurrency" | "autorun">;
  /** What the app does about a failed attempt, besides the pool's own `warn` line. */
  onFailed?(job: Job<Data, Result> | undefined, error: Error): void;
  onCompleted?(job: Job<Data, Result>, result: Result): void;
};

/** A worker spec whose job types were checked where it was written, so that one list can hold queues of different job types. */
export type QueueWorker = { queue: string; concurrency: number; create(): Worker };

export function queueWorker<Data, Result>(spec: WorkerSpec<Data, Result>): QueueWorker {
  return {
    queue: spec.queue,
    concurrency: spec.concurrency,
    create() {
      const worker = new Worker<Data, Result>(spec.queue, spec.processor, {
        ...spec.options,
        connection: spec.connection,
        prefix: spec.prefix,
        concurrency: spec.concurrency,
        // Listeners are attached synchronously after construction, before the first job can finish.
        autorun: true,
      });
      if (spec.onFailed) worker.on("failed", spec.onFailed);
      if (spec.onCompleted) worker.on("completed", spec.onCompleted);
      return worker;
    },
  };
}

/** Something a pool runs beside its workers: a listener, a sweep, a stream consumer, an outbox relay. */
export type WorkerPart = {
  name: string;
  start(): void | Promise<void>;
  stop(): Promise<void>;
  /**
   * The part serves the jobs rather than feeding them (an outbox relay their commits wake):
   * it starts before the workers and stops after them, so the work of the last jobs still goes
   * out. Other parts start once the workers are ready and stop before they close, so nothing
   * queues new work while the pool drains.
   */
  servesJobs?: boolean;
};

export type WorkerAppOptions = {
  /** What the process is, in its log lines and its 404 answer ("provider worker pool"). */
  name: string;
  /** The line logged once the pool runs, "<name> started" unless given: tests and operators wait for it. */
  startedMessage?: string;
  /** More fields for that line (what the pool runs with: deployments, whether push is on). */
  startedFields?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Where /health/* and /metrics listen, how long in-flight requests get on stop, the HTTP timeouts. */
  config: { HOST: string; PORT: number; SHUTDOWN_GRACE_MS: number } & HttpTimeouts;
  logger: Logger;
  metrics: Metrics;
  readiness: ReadinessCheck[];
  workers: QueueWorker[];
  /** The queues whose depth /metrics reports (`bullmq_queue_jobs`), and whose stalled jobs are counted from 0. */
  queues: readonly CountedQueue[];
  parts?: WorkerPart[];
  /** Run in order once everything else stopped: the queues, the database pool, the Redis clients. */
  closers?: (() => unknown)[];
};

/**
 * A BullMQ worker pool as a value (its worker.ts only reads env and runs it): the workers with
 * the standard log lines and queue metrics, the parts beside them, and an HTTP server for
 * /health/* and /metrics only. `listen()` brings the workers up before the parts that feed them
 * and answers readiness last; `stop()` undoes it from the end and lets running jobs finish.
 */
export function createWorkerApp(options: WorkerAppOptions): Service {
  const { name, config, logger, metrics, parts = [], closers = [] } = options;
  const queueMetrics = addQueueMetrics(metrics, options.queues, { logger });
  const http = createHttpService({
    logger,
    metrics,
    readiness: options.readiness,
    fallback: (_req, res) => sendJson(res, 404, { error: "NOT_FOUND", message: `The ${name} serves /health/* and /metrics only` }),
    timeouts: config,
  });
  // What listen() started, in order. Each step is recorded before it starts, so a start that
  // failed halfway (a worker that never got ready) is still undone.
  const started: { name: string; stop: () => Promise<unknown> }[] = [];
  const startPart = async (part: WorkerPart) => {
    started.push({ name: part.name, stop: () => part.stop() });
    await part.start();
  };

  const startWorkers = async () => {
    const workers: Worker[] = [];
    // close() lets the jobs in flight finish and takes no new ones.
    started.push({ name: "workers", stop: () => Promise.all(workers.map((worker) => worker.close())) });
    for (const spec of options.workers) {
      const worker = spec.create();
      // A failed attempt is retried or lands in the failed set, where an operator sees it: a warning.
      worker.on("failed", (job, error) => logger.warn({ queue: worker.name, jobId: job?.id, attemptsMade: job?.attemptsMade, err: error }, "job attempt failed"));
      // A worker's own errors are its connection's (a job's errors are `failed`): a dependency's trouble, so warn.
      worker.on("error", (error) => logger.warn({ queue: worker.name, reason: error.message }, "worker error"));
      queueMetrics.watch(worker);
      workers.push(worker);
    }
    await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  };

  /** Stops what listen() started, last first; a step that fails is logged and the others still run. */
  const unwind = async (): Promise<string[]> => {
    const failed: string[] = [];
    for (const step of started.splice(0).reverse()) {
      try {
        await step.stop();
      } catch (error) {
        failed.push(step.name);
        logger.error({ err: error, part: step.name }, "a part of the worker pool did not stop cleanly");
      }
    }
    return failed;
  };

  return {
    async listen() {
      try {
        for (const part of parts.filter((p) => p.servesJobs)) await startPart(part);
        await startWorkers();
        for (const part of parts.filter((p) => !p.servesJobs)) await startPart(part);
        const concurrency = Object.fromEntries(options.workers.map((w) => [w.queue, w.concurrency]));
        logger.info({ concurrency, ...(await options.startedFields?.()) }, options.startedMessage ?? `${name} started`);
        started.push({ name: "HTTP server", stop: () => http.close(config.SHUTDOWN_GRACE_MS) });
        // Last: the pool reports ready only once it takes jobs.
        return await http.listen(config.PORT, config.HOST);
      } catch (error) {
        // A caller whose listen() failed may never call stop(): nothing started may outlive it.
        await unwind();
        throw error;
      }
    },
    async stop() {
      // The HTTP server was started last, so it closes first: readiness answers "draining" at once.
      const failed = await unwind();
      for (const [i, close] of closers.entries()) {
        try {
          await close();
        } catch (error) {
          failed.push(`closer ${i + 1}`);
          logger.error({ err: error, closer: i + 1 }, "closing a connection of the worker pool failed");
        }
      }
      if (failed.length > 0) throw new Error(`the ${name} did not stop cleanly: ${failed.join(", ")}`);
    },
  };
}
