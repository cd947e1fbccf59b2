import pg from "pg";
import { isStreamId } from "./event-stream";
import type { Logger } from "./logger";
import type { OutboxRow, OutboxSource, PublishedMark } from "./outbox-relay";

/** The advisory lock the relays of one database take turns on (advisory locks are per database). */
const RELAY_LOCK_KEY = 0x5374_6f75_7462n; // "Stoutb": any constant no other code locks.

type ClaimedRow = Omit<OutboxRow, "occurredAt"> & { occurredAt: Date | string };

/** What the source needs of a pg.Pool (any version of node-postgres's types). */
export type RelayConnections = {
  connect(): Promise<{
    query(text: string): Promise<unknown>;
    release(error?: Error | boolean): void;
    on(event: "error", listener: (error: Error) => void): unknown;
    off(event: "error", listener: (error: Error) => void): unknown;
  }>;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * One round trip: open the transaction, bound how long it may wait for the lock and stay
 * idle (a relay stuck on Redis gives its rows and the lock back), take the relays' turn, claim.
 * Replicas take turns, one batch at a time: with SKIP LOCKED alone, one relay would publish
 * a topic's newer rows while another still held the older ones, and subscribers would see the
 * topic's events out of order. Waiting (not trying) lets a relay woken by its own commit
 * publish right after the batch in flight. FOR UPDATE: the claimed rows stay locked until
 * marked (SKIP LOCKED: never waits on a row).
 */
const claimSql = (limit: number, idleTimeoutMs: number) => `
BEGIN;
SET LOCAL lock_timeout = '5s';
SET LOCAL idle_in_transaction_session_timeout = '${idleTimeoutMs}ms';
SELECT pg_advisory_xact_lock(${RELAY_LOCK_KEY});
SELECT id::text AS id, topic, type, aggregate_id::text AS "aggregateId", version, data, traceparent, occurred_at AS "occurredAt"
  FROM outbox_events
 WHERE published_at IS NULL
 ORDER BY occurred_at, id
 LIMIT ${limit}
   FOR UPDATE SKIP LOCKED`;

/**
 * One round trip: mark the batch and commit. The values are inlined (the simple protocol
 * takes no parameters and several statements), so each is checked to be what it can only
 * be: a row id the claim read, a stream id Redis assigned (digits-digits), or null.
 */
function markSql(marks: readonly PublishedMark[]): string {
  const ids = marks.map((mark) => {
    if (!UUID.test(mark.id)) throw new Error(`outbox row id is not a uuid: ${JSON.stringify(mark.id)}`);
    return mark.id;
  });
  const streamIds = marks.map((mark) => {
    if (mark.streamId === null) return "NULL";
    if (!isStreamId(mark.streamId)) throw new Error(`not a stream id: ${JSON.stringify(mark.streamId)}`);
    return mark.streamId;
  });
  return `
UPDATE outbox_events o SET published_at = now(), stream_id = m.stream_id
  FROM unnest('{${ids.join(",")}}'::uuid[], '{${streamIds.join(",")}}'::text[]) AS m(id, stream_id)
 WHERE o.id = m.id;
COMMIT`;
}

/**
 * A service's `outbox_events` table as the relay reads and marks it, over its own pg
 * connection rather than the service's Prisma client: a batch is two round trips to
 * PostgreSQL (claim, then mark and commit) where an interactive Prisma transaction makes
 * seven, and every event waits on them between its commit and its publication.
 */
export function pgOutboxSource(pool: RelayConnections, options: { idleTimeoutMs?: number } = {}): OutboxSource {
  const idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
  return {
    async transaction(work) {
      const client = await pool.connect();
      // open: BEGIN may have run, so a failure must roll back; done: committed.
      const tx: { state: "idle" | "open" | "done" } = { state: "idle" };
      let unusable: Error | undefined;
      // A connection lost while checked out between two queries (the batch publishing to
      // Redis) is an 'error' event on the client, which would crash the process unheard; the
      // next query fails on it, and the client is closed rather than given back.
      const lost = (error: Error) => {
        unusable = error;
      };
      client.on("error", lost);
      try {
        const result = await work({
          async claim(limit) {
            tx.state = "open";
            const results = (await client.query(claimSql(limit, idleTimeoutMs))) as { rows: ClaimedRow[] }[];
            return results.at(-1)!.rows.map((row) => ({ ...row, occurredAt: new Date(row.occurredAt) }));
          },
          async markPublished(marks) {
            if (marks.length === 0) return;
            await client.query(markSql(marks));
            tx.state = "done";
          },
        });
        if (tx.state === "open") await client.query("COMMIT");
        tx.state = "done";
        return result;
      } catch (error) {
        if (tx.state === "open") {
          // A connection that cannot even roll back is closed rather than given back.
          await client.query("ROLLBACK").catch((rollbackError: unknown) => {
            unusable = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
          });
        }
        throw error;
      } finally {
        client.off("error", lost);
        client.release(unusable);
      }
    },
  };
}

/** The relay's own pool: one connection, as one relay publishes one batch at a time. */
export function outboxRelayPool(connectionString: string, logger: Logger): pg.Pool {
  // Kept open between batches, as the services' pools are (prisma.ts): a relay woken by a commit must not open a connection first.
  const pool = new pg.Pool({ connectionString, max: 1, min: 1, connectionTimeoutMillis: 5_000 });
  // An idle connection the server closed (a restart) is an event, not a crash: the next batch reconnects.
  pool.on("error", (error) => logger.warn({ err: error }, "outbox relay's database connection closed"));
  return pool;
}
