import type { Redis } from "ioredis";
import { z } from "zod";
import { positiveInt } from "./config";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { createOutboxRebuild, type OutboxHistory, type PublishedOutboxRow } from "./outbox-rebuild";
import { DEFAULT_DEDUPE_TTL_SECONDS, createOutboxRelay, type OutboxRelay } from "./outbox-relay";
import { createOutboxRetention, type OutboxPruner } from "./outbox-retention";
import { outboxRelayPool, pgOutboxSource } from "./pg-outbox-source";
import { Topics } from "./topics";

type HistoryRow = Omit<PublishedOutboxRow, "occurredAt" | "publishedAt"> & { occurredAt: Date | string; publishedAt: Date | string };

/** The slice of a Prisma client the outbox's history needs (any service's generated client). */
type RawTx = {
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
};

const NO_ROW = "00000000-0000-0000-0000-000000000000";

/** The published rows of a service's `outbox_events` table: read by a rebuild, pruned by the retention. */
export function prismaOutboxHistory(db: RawTx): OutboxHistory & OutboxPruner {
  return {
    async published({ since, after, limit }) {
      const [ms = "0", seq = "0"] = after?.streamId.split("-") ?? [];
      // The expressions of outbox_events_stream_order_idx (a migration): read in index order.
      // `o.id`, not `id`: in ORDER BY that would be the text output column.
      const rows = await db.$queryRaw<HistoryRow[]>`
        SELECT o.id::text AS id, topic, type, aggregate_id::text AS "aggregateId", version, data, traceparent,
               occurred_at AS "occurredAt", published_at AS "publishedAt", stream_id AS "streamId"
          FROM outbox_events o
         WHERE stream_id IS NOT NULL
           AND published_at >= ${since}
           AND (split_part(stream_id, '-', 1)::bigint, split_part(stream_id, '-', 2)::bigint, o.id) > (${ms}::bigint, ${seq}::bigint, ${after?.id ?? NO_ROW}::uuid)
         ORDER BY split_part(stream_id, '-', 1)::bigint, split_part(stream_id, '-', 2)::bigint, o.id
         LIMIT ${limit}`;
      return rows.map((row) => ({ ...row, occurredAt: new Date(row.occurredAt), publishedAt: new Date(row.publishedAt) }));
    },
    deletePublishedBefore: (before, limit) =>
      // SKIP LOCKED: replicas sweeping at once share the work instead of waiting on each other.
      Promise.resolve(db.$executeRaw`
        DELETE FROM outbox_events o
         USING (SELECT id FROM outbox_events WHERE published_at < ${before} ORDER BY published_at LIMIT ${limit} FOR UPDATE SKIP LOCKED) old
         WHERE o.id = old.id`),
  };
}

/**
 * A firehose prefix: `firehose`, or `firehose:<name>` for a cluster or test stack of its own,
 * so a firehose topic's family is always `firehose` (a bounded metric label).
 */
export const firehosePrefix = z
  .string()
  .regex(/^firehose(:[a-z0-9-]+)*$/, "must be firehose, or firehose:<lowercase name> for a cluster of its own")
  .default("firehose");

/** The outbox relay's settings, for the config of every service that publishes events. */
export const outboxConfigShape = {
  /** How often the outbox relay looks for unpublished events (it is also woken after each change). */
  OUTBOX_POLL_MS: positiveInt(200),
  /** Events the relay claims and publishes per transaction. */
  OUTBOX_BATCH_SIZE: positiveInt(100),
  /** Approximate length each `events:<topic>` stream is trimmed to. */
  EVENT_STREAM_MAX_LEN: positiveInt(100_000),
  /**
   * How long published rows are kept, then deleted: the window a rebuild restores after
   * Redis lost its data. The dedupe keys live as long (7 days at least).
   */
  OUTBOX_RETENTION_HOURS: positiveInt(168),
  /**
   * The firehose topics' prefix (`<prefix>:<producer>`): each published event is copied to its
   * producer's firehose while analytics reads it. Clusters or test stacks sharing one Redis
   * keep apart with their own (analytics is given the same).
   */
  EVENT_FIREHOSE_PREFIX: firehosePrefix,
};

type OutboxConfig = { DATABASE_URL: string; OUTBOX_POLL_MS: number; OUTBOX_BATCH_SIZE: number; EVENT_STREAM_MAX_LEN: number; OUTBOX_RETENTION_HOURS: number; EVENT_FIREHOSE_PREFIX: string };

/**
 * A service's relay from its `outbox_events` table to Redis, with the settings of
 * outboxConfigShape; `producer` (the service's name) is recorded in each envelope and names
 * the history it rebuilds after Redis lost its data. Old published rows are deleted. Batches
 * go over the relay's own connection to DATABASE_URL (pg-outbox-source.ts); the history
 * and the retention through the service's Prisma client.
 */
export function prismaOutboxRelay(
  db: RawTx,
  deps: {
    producer: string;
    redis: Redis;
    logger: Logger;
    metrics?: Metrics;
    config: OutboxConfig;
    /** Also woken by any publication on this Redis channel: commits of another process that writes this outbox and runs no relay (outboxWaker). */
    wakeChannel?: string;
  },
): OutboxRelay {
  const { producer, redis, metrics, config } = deps;
  const logger = deps.logger.child({ component: "outbox-relay" });
  const history = prismaOutboxHistory(db);
  const retentionMs = config.OUTBOX_RETENTION_HOURS * 3_600_000;
  // Every row a rebuild may restore still has its dedupe key, so the window is the retention.
  const dedupeTtlSeconds = Math.max(DEFAULT_DEDUPE_TTL_SECONDS, config.OUTBOX_RETENTION_HOURS * 3600);
  // Opened with the first batch and closed by stop(): a relay started again opens a new one.
  let pool: ReturnType<typeof outboxRelayPool> | undefined;
  const connections = { connect: () => (pool ??= outboxRelayPool(config.DATABASE_URL, logger)).connect() };
  const relay = createOutboxRelay({
    source: pgOutboxSource(connections),
    producer,
    redis,
    logger,
    metrics,
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollMs: config.OUTBOX_POLL_MS,
    streamMaxLen: config.EVENT_STREAM_MAX_LEN,
    dedupeTtlSeconds,
    firehose: Topics.firehose(producer, config.EVENT_FIREHOSE_PREFIX),
    rebuild: createOutboxRebuild({ producer, history, redis, logger, metrics, windowMs: retentionMs, streamMaxLen: config.EVENT_STREAM_MAX_LEN, dedupeTtlSeconds }),
    retention: createOutboxRetention({ history, retentionMs, logger }),
  });
  let wakes: Redis | undefined;
  return {
    ...relay,
    start() {
      relay.start();
      if (deps.wakeChannel && !wakes) {
        wakes = redis.duplicate({ connectionName: `${producer}-outbox-wakes` });
        wakes.on("message", () => relay.wake());
        // ioredis subscribes again after a reconnect; a wake missed meanwhile waits for the next poll.
        wakes.on("error", (error: Error) => logger.debug({ err: error }, "outbox wake subscriber error"));
        void wakes.subscribe(deps.wakeChannel).catch((error: unknown) => logger.warn({ err: error }, "could not subscribe to outbox wakes; polling only"));
      }
    },
    async stop() {
      wakes?.disconnect();
      wakes = undefined;
      await relay.stop();
      const closing = pool;
      pool = undefined;
      await closing?.end();
    },
  };
}

/**
 * For a process that writes a service's outbox but runs no relay of it (notification's worker
 * pool writes inbox events the subgraph's relay publishes): after each commit, wake every
 * relay listening on `channel` (prismaOutboxRelay's wakeChannel), so the events go out at
 * once rather than at the relays' next poll. Best effort: a wake lost with Redis is a poll's wait.
 */
export function outboxWaker(redis: Redis, channel: string, logger: Logger): () => void {
  return () => {
    redis.publish(channel, "1").catch((error: unknown) => logger.debug({ err: error }, "could not wake the outbox relays; they poll"));
  };
}
