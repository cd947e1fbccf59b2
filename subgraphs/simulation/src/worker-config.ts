import { z } from "zod";
import { lifecycleTopicShape, outboxConfigShape, port, positiveInt, subgraphConfigShape } from "@startales/service-kit";
import { campaignShape, queueShape } from "./config";

/** The worker pool's config (worker.ts); the subgraph's is config.ts. */
export const simulationWorkerConfigSchema = z.object({
  ...subgraphConfigShape({ port: 4013, database: "startales_simulation" }),
  // The worker pool serves only /health/* and /metrics on its port.
  PORT: port(4013),
  ...campaignShape,
  ...queueShape,
  /**
   * The simulation's own principal: the worker signs a SERVICE identity for this id (with the
   * shared GATEWAY_SIGNING_SECRET) to read a campaign's seed and members from campaign.
   */
  SIMULATION_SERVICE_ID: z.uuid().default("00000000-0000-4000-8000-000000004003"),
  /** Jobs (ticks of different campaigns, lifecycle changes) one worker process runs at once. */
  WORKER_CONCURRENCY: positiveInt(4),
  /** Attempts per tick job before it lands in the failed set, with exponential backoff from TICK_BACKOFF_MS. */
  TICK_ATTEMPTS: positiveInt(5),
  TICK_BACKOFF_MS: positiveInt(500),
  /** How long a worker's lock on a job lasts without renewal; a dead worker's job is recovered after it. */
  WORKER_LOCK_DURATION_MS: positiveInt(30_000),
  /** How often workers look for stalled jobs (their worker died) to run again. */
  WORKER_STALLED_INTERVAL_MS: positiveInt(30_000),
  /** Where campaign tells of lifecycle and membership changes (campaign's LIFECYCLE_TOPIC), read as consumer group `simulation`. */
  ...lifecycleTopicShape,
  /** How long one read of that stream waits for new entries. */
  LIFECYCLE_BLOCK_MS: positiveInt(2_000),
  /** An entry a worker took and has not acknowledged for this long (it died, or its job could not be queued) is taken over and retried. */
  LIFECYCLE_CLAIM_IDLE_MS: positiveInt(30_000),
  /** Deliveries of one entry before it is moved to the stream's dead-letter stream for operators. */
  LIFECYCLE_MAX_DELIVERIES: positiveInt(10),
  /**
   * How often (and once at start) Redis is checked against PostgreSQL and repaired: tick
   * schedules of RUNNING worlds, lifecycle jobs of events not yet done. After Redis loses its
   * data, campaigns tick again within about this long.
   */
  RECONCILE_INTERVAL_MS: positiveInt(30_000),
  /** Rows (worlds, schedulers, inbox events) read per query by the reconciler. */
  RECONCILE_BATCH_SIZE: positiveInt(500),
  /**
   * Test hook, 0 in production: keep the tick's transaction open this long after computing
   * and before committing, so a test can kill a worker provably mid-tick.
   */
  TICK_HOLD_MS: z.coerce.number().int().min(0).default(0),
  /**
   * Every how many ticks a campaign's economy and each civilization's standing go to analytics
   * (TICK_STATS; 0: never). Each is one outbox row and a row per civilization in analytics:
   * at 1 s ticks, every tick is 86,400 a day per campaign, which ClickHouse takes and one
   * PostgreSQL feels; 10 keeps a history at a tenth of that.
   */
  TICK_STATS_EVERY: z.coerce.number().int().min(0).default(10),
  ...outboxConfigShape,
});
export type SimulationWorkerConfig = z.infer<typeof simulationWorkerConfigSchema>;
