import type { OutboxRow, OutboxSource } from "@startales/service-kit";
import type { Db } from "./db";

type ClaimedRow = Omit<OutboxRow, "occurredAt"> & { occurredAt: Date | string };

/** The campaign database's `outbox_events`, as the outbox relay reads and marks them. */
export function campaignOutboxSource(db: Db, options: { timeoutMs?: number } = {}): OutboxSource {
  return {
    transaction: (work) =>
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
              await tx.outboxEvent.updateMany({ where: { id: { in: ids } }, data: { publishedAt: new Date() } });
            },
          }),
        { timeout: options.timeoutMs ?? 15_000 },
      ),
  };
}
