import { UnrecoverableError, type Job } from "bullmq";
import {
  addCounter,
  createCampaignSetupClient,
  createMetrics,
  createPgPool,
  createRedis,
  createWorkerApp,
  databaseReadiness,
  prismaOutboxRelay,
  queueWorker,
  redisReadiness,
  type Logger,
  type Metrics,
  type Service,
  withSpan,
} from "@startales/service-kit";
import type { SimulationWorkerConfig } from "./worker-config";
import { createDb } from "./db";
import { reconcileCampaign, type ReconcileResult } from "./domain/lifecycle";
import { createLifecycleInbox } from "./domain/lifecycle-inbox";
import { recordConservationFailure, runTick, type TickRun } from "./domain/tick-runner";
import { ConservationError, type TickOptions } from "./engine";
import { createLifecycleConsumer, type LifecycleOutcome } from "./scheduling/lifecycle-consumer";
import { createReconciler, type ReconcileReport } from "./scheduling/reconciler";
import { createTickMetrics } from "./tick-metrics";
import { LIFECYCLE_QUEUE, TICK_QUEUE, createQueues, createTickSchedule, type LifecycleJobData, type TickJobData } from "./scheduling/queues";

export type SimulationWorkerApp = Service & {
  metrics: Metrics;
  /** One reconciliation of Redis with PostgreSQL now (tests; it also runs at start and every RECONCILE_INTERVAL_MS). */
  reconcile(): Promise<ReconcileReport>;
};

/**
 * The simulation worker pool as a value (createWorkerApp; worker.ts only reads env and runs it).
 * One process runs two BullMQ workers, each with WORKER_CONCURRENCY: ticks (a repeatable
 * job per RUNNING campaign) and lifecycle jobs (world creation, schedule changes), plus the
 * lifecycle consumer that turns campaign's lifecycle changes into lifecycle jobs and an outbox relay for
 * the tick events, and the reconciler that rebuilds from PostgreSQL what Redis lost (tick
 * schedules, lifecycle jobs).
 */
export function createSimulationWorker(config: SimulationWorkerConfig, logger: Logger, options: { engine?: TickOptions } = {}): SimulationWorkerApp {
  const db = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, config.DATABASE_POOL_TIMEOUT_MS);
  // The ticks' own transactions (domain/world-store.ts): at most WORKER_CONCURRENCY at once.
  const pool = createPgPool(config.DATABASE_URL, config.WORKER_CONCURRENCY);
  const redis = createRedis(config.REDIS_URL, "simulation-worker");
  const connection = createRedis(config.REDIS_URL, "simulation-worker-bullmq");
  const queues = createQueues(connection, config.QUEUE_PREFIX);
  const schedule = createTickSchedule(queues.ticks, { attempts: config.TICK_ATTEMPTS, backoffMs: config.TICK_BACKOFF_MS });
  const metrics = createMetrics("simulation-worker");
  const ticks = addCounter(metrics, { name: "simulation_tick_jobs_total", help: "Tick jobs by outcome", labelNames: ["outcome"] as const });
  const lifecycleJobs = addCounter(metrics, { name: "simulation_lifecycle_jobs_total", help: "Lifecycle jobs by outcome", labelNames: ["outcome"] as const });
  const repairs = addCounter(metrics, {
    name: "simulation_reconciler_repairs_total",
    help: "Differences between Redis and PostgreSQL the reconciler repaired, by kind",
    labelNames: ["kind"] as const,
  });
  const tickMetrics = createTickMetrics(metrics, { db, logger });
  const relay = prismaOutboxRelay(db, { producer: "simulation", redis, logger, metrics, config });
  const campaigns = createCampaignSetupClient({
    campaignUrl: config.CAMPAIGN_URL,
    secret: config.GATEWAY_SIGNING_SECRET,
    serviceId: config.SIMULATION_SERVICE_ID,
    timeoutMs: config.CAMPAIGN_TIMEOUT_MS,
    logger: logger.child({ component: "campaign-setup-client" }),
  });
  const tickDeps = { db, pool, logger, afterCommit: () => relay.wake(), holdMs: config.TICK_HOLD_MS, engine: options.engine, statsEvery: config.TICK_STATS_EVERY };
  const lifecycleDeps = { db, campaigns, schedule, logger, afterCommit: () => relay.wake() };
  const inbox = createLifecycleInbox(db);
  const lifecycleEvents = addCounter(metrics, {
    name: "simulation_lifecycle_events_total",
    help: "Campaign lifecycle changes read from LIFECYCLE_TOPIC, by outcome",
    labelNames: ["outcome"] as const,
  });
  const lifecycleConsumer = createLifecycleConsumer({
    redis,
    topic: config.LIFECYCLE_TOPIC,
    queue: queues.lifecycle,
    record: (event) => inbox.record(event),
    logger: logger.child({ component: "lifecycle-consumer" }),
    blockMs: config.LIFECYCLE_BLOCK_MS,
    claimIdleMs: config.LIFECYCLE_CLAIM_IDLE_MS,
    maxDeliveries: config.LIFECYCLE_MAX_DELIVERIES,
    metrics,
    onOutcome: (outcome: LifecycleOutcome) => lifecycleEvents.inc({ outcome }),
  });
  const reconciler = createReconciler({
    db,
    ticks: queues.ticks,
    lifecycle: queues.lifecycle,
    schedule,
    inbox,
    logger: logger.child({ component: "reconciler" }),
    everyMs: config.RECONCILE_INTERVAL_MS,
    batchSize: config.RECONCILE_BATCH_SIZE,
    onRepair: (kind) => repairs.inc({ kind }),
  });
  const processTick = (job: Job<TickJobData>): Promise<TickRun> =>
    // A tick is its own trace (a scheduler runs it, not a request); its events' outbox rows carry it.
    withSpan("simulation-worker", "tick", () => runTickJob(job), { parent: "root", attributes: { "startales.campaign_id": job.data.campaignId } });

  const runTickJob = async (job: Job<TickJobData>): Promise<TickRun> => {
    const { campaignId } = job.data;
    tickMetrics.started(job);
    const started = performance.now();
    try {
      const run = await runTick(tickDeps, campaignId, {
        targetTick: job.data.targetTick,
        setTargetTick: (targetTick) => job.updateData({ ...job.data, targetTick }),
      });
      ticks.inc({ outcome: run.outcome });
      if (run.outcome === "applied") {
        tickMetrics.applied(run.decided, (performance.now() - started) / 1000);
        logger.debug({ campaignId, tick: run.tick, commands: run.commands, jobId: job.id }, "tick applied");
      } else logger.debug({ campaignId, outcome: run.outcome, jobId: job.id }, "tick job did nothing");
      return run;
    } catch (error) {
      if (error instanceof ConservationError) {
        ticks.inc({ outcome: "conservation_error" });
        await recordConservationFailure(tickDeps, campaignId, error);
        // Deterministic: retrying would fail the same way. Straight to the failed set.
        throw new UnrecoverableError(error.message);
      }
      ticks.inc({ outcome: "error" });
      throw error;
    }
  };

  // Continues the trace of the campaign event that queued it (the request that started, paused… the campaign).
  const processLifecycle = (job: Job<LifecycleJobData>): Promise<ReconcileResult> =>
    withSpan("simulation-worker", "lifecycle job", () => reconcileJob(job), {
      parent: job.data.traceparent ?? "root",
      attributes: { "startales.campaign_id": job.data.campaignId, "startales.event_type": job.data.type },
    });

  const reconcileJob = async (job: Job<LifecycleJobData>): Promise<ReconcileResult> => {
    const result = await reconcileCampaign(lifecycleDeps, job.data.campaignId);
    // After the reconcile, never before: an event marked done is never queued again.
    await inbox.done(job.data.eventId);
    lifecycleJobs.inc({ outcome: result.outcome });
    logger.info({ campaignId: job.data.campaignId, event: job.data.type, ...result }, "campaign reconciled");
    return result;
  };

  const workerSettings = {
    prefix: config.QUEUE_PREFIX,
    connection,
    concurrency: config.WORKER_CONCURRENCY,
    options: { lockDuration: config.WORKER_LOCK_DURATION_MS, stalledInterval: config.WORKER_STALLED_INTERVAL_MS, maxStalledCount: 3 },
  };
  const app = createWorkerApp({
    name: "simulation worker pool",
    // The line the test kit waits for.
    startedMessage: "simulation workers running",
    config,
    logger,
    metrics,
    readiness: [databaseReadiness(db), redisReadiness(redis)],
    queues: [queues.ticks, queues.lifecycle],
    workers: [queueWorker({ queue: TICK_QUEUE, processor: processTick, ...workerSettings }), queueWorker({ queue: LIFECYCLE_QUEUE, processor: processLifecycle, ...workerSettings })],
    parts: [
      // Publishes the events of the last ticks while the pool drains.
      { name: "outbox relay", start: () => relay.start(), stop: () => relay.stop(), servesJobs: true },
      { name: "lifecycle consumer", start: () => lifecycleConsumer.start(), stop: () => lifecycleConsumer.stop() },
      { name: "reconciler", start: () => reconciler.start(), stop: () => reconciler.stop() },
    ],
    closers: [() => Promise.all([queues.ticks.close(), queues.lifecycle.close()]), () => db.$disconnect(), () => pool.end(), () => connection.disconnect(), () => redis.disconnect()],
  });

  return { ...app, metrics, reconcile: () => reconciler.reconcile() };
}
