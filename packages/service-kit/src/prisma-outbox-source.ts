import type { Redis } from "ioredis";
import { positiveInt } from "./config";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { createOutboxRebuild, type OutboxHistory, type PublishedOutboxRow } from "./outbox-rebuild";
import { DEFAULT_DEDUPE_TTL_SECONDS, createOutboxRelay, type OutboxRelay, type OutboxRow, type OutboxSource } from "./outbox-relay";
import { createOutboxRetention, type OutboxPruner } from "./outbox-retention";

type ClaimedRow = Omit<OutboxRow, "occurredAt"> & { occurredAt: Date | string };
type HistoryRow = Omit<PublishedOutboxRow, "occurredAt" | "publishedAt"> & { occurredAt: Date | string; publishedAt: Date | string };

/** The advisory lock the relays of one database take turns on (advisory locks are per database). */
const RELAY_LOCK_KEY = 0x5374_6f75_7462n; // "Stoutb": any constant no other code locks.

/** The slice of a Prisma transaction client the outbox needs (any service's generated client). */
type RawTx = {
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
};
type RawDb<Tx extends RawTx> = {
  $transaction<T>(work: (tx: Tx) => Promise<T>, options?: { timeout?: number }): PromiseLike<T>;
};

/**
 * A service's `outbox_events` table (every subgraph that publishes events has the same one,
 * see the campaign migration), as the outbox relay reads and marks it.
 */
export function prismaOutboxSource<Tx extends RawTx>(db: RawDb<Tx>, options: { timeoutMs?: number } = {}): OutboxSource {
  return {
    transaction: (work) =>
      Promise.resolve(
        db.$transaction(
          (tx) =>
            work({
              async claim(limit) {
                // Replicas take turns, one batch at a time: with SKIP LOCKED alone, one relay
                // would publish a topic's newer rows while another still held the older ones,
                // and subscribers would see the topic's events out of order. Waiting (not
                // trying) lets a relay woken by its own commit publish right after the batch
                // in flight; the timeout bounds the wait behind a relay stuck on Redis.
                await tx.$executeRaw`SET LOCAL lock_timeout = '5s'`;
                await tx.$executeRaw`SELECT pg_advisory_xact_lock(${RELAY_LOCK_KEY}::bigint)`;
                // FOR UPDATE: the claimed rows stay locked until marked (SKIP LOCKED: never waits on a row).
                const rows = await tx.$queryRaw<ClaimedRow[]>`
                  SELECT id::text AS id, topic, type, aggregate_id::text AS "aggregateId", version, data, traceparent,
                         occurred_at AS "occurredAt"
                    FROM outbox_events
                   WHERE published_at IS NULL
                   ORDER BY occurred_at, id
                   LIMIT ${limit}
                     FOR UPDATE SKIP LOCKED`;
                return rows.map((row) => ({ ...row, occurredAt: new Date(row.occurredAt) }));
              },
              async markPublished(marks) {
                await tx.$executeRaw`
                  UPDATE outbox_events o SET published_at = now(), stream_id = m.stream_id
                    FROM unnest(${marks.map((mark) => mark.id)}::uuid[], ${marks.map((mark) => mark.streamId)}::text[]) AS m(id, stream_id)
                   WHERE o.id = m.id`;
              },
            }),
          { timeout: options.timeoutMs ?? 15_000 },
        ),
      ),
  };
}

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
};

type OutboxConfig = { OUTBOX_POLL_MS: number; OUTBOX_BATCH_SIZE: number; EVENT_STREAM_MAX_LEN: number; OUTBOX_RETENTION_HOURS: number };

/**
 * A service's relay from its `outbox_events` table to Redis, with the settings of
 * outboxConfigShape; `producer` (the service's name) is recorded in each envelope and names
 * the history it rebuilds after Redis lost its data. Old published rows are deleted.
 */
export function prismaOutboxRelay<Tx extends RawTx>(
  db: RawDb<Tx> & RawTx,
  deps: { producer: string; redis: Redis; logger: Logger; metrics?: Metrics; config: OutboxConfig },
): OutboxRelay {
  const { producer, redis, metrics, config } = deps;
  const logger = deps.logger.child({ component: "outbox-relay" });
  const history = prismaOutboxHistory(db);
  const retentionMs = config.OUTBOX_RETENTION_HOURS * 3_600_000;
  // Every row a rebuild may restore still has its dedupe key, so the window is the retention.
  const dedupeTtlSeconds = Math.max(DEFAULT_DEDUPE_TTL_SECONDS, config.OUTBOX_RETENTION_HOURS * 3600);
  return createOutboxRelay({
    source: prismaOutboxSource(db),
    producer,
    redis,
    logger,
    metrics,
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollMs: config.OUTBOX_POLL_MS,
    streamMaxLen: config.EVENT_STREAM_MAX_LEN,
    dedupeTtlSeconds,
    rebuild: createOutboxRebuild({ producer, history, redis, logger, metrics, windowMs: retentionMs, streamMaxLen: config.EVENT_STREAM_MAX_LEN, dedupeTtlSeconds }),
    retention: createOutboxRetention({ history, retentionMs, logger }),
  });
}
