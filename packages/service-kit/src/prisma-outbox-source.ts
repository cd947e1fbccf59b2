import type { OutboxRow, OutboxSource } from "./outbox-relay";

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
