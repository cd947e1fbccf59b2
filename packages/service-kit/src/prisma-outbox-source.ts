import type { Redis } from "ioredis";
import { positiveInt } from "./config";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { createOutboxRelay, type OutboxRelay, type OutboxRow, type OutboxSource } from "./outbox-relay";

type ClaimedRow = Omit<OutboxRow, "occurredAt"> & { occurredAt: Date | string };

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
                // SKIP LOCKED: several relays (replicas) never claim the same row at once.
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
              async markPublished(ids) {
                await tx.$executeRaw`UPDATE outbox_events SET published_at = now() WHERE id = ANY(${ids}::uuid[])`;
              },
            }),
          { timeout: options.timeoutMs ?? 15_000 },
        ),
      ),
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
};

type OutboxConfig = { OUTBOX_POLL_MS: number; OUTBOX_BATCH_SIZE: number; EVENT_STREAM_MAX_LEN: number };

/** A service's relay from its `outbox_events` table to Redis, with the settings of outboxConfigShape. */
export function prismaOutboxRelay<Tx extends RawTx>(
  db: RawDb<Tx>,
  deps: { redis: Redis; logger: Logger; metrics?: Metrics; config: OutboxConfig },
): OutboxRelay {
  return createOutboxRelay({
    source: prismaOutboxSource(db),
    redis: deps.redis,
    logger: deps.logger.child({ component: "outbox-relay" }),
    metrics: deps.metrics,
    batchSize: deps.config.OUTBOX_BATCH_SIZE,
    pollMs: deps.config.OUTBOX_POLL_MS,
    streamMaxLen: deps.config.EVENT_STREAM_MAX_LEN,
  });
}
