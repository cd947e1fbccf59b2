import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "./logger";
import { sharedCounter, type Metrics } from "./metrics";
import {
  DEFAULT_DEDUPE_TTL_SECONDS,
  EVENT_STREAM_PREFIX,
  outboxDedupeKey,
  streamMaxLenFor,
  toEnvelope,
  type OutboxHistoryGuard,
  type OutboxRow,
} from "./outbox-relay";

/** A published row of `outbox_events` and where its event went. */
export type PublishedOutboxRow = OutboxRow & { streamId: string; publishedAt: Date };

/** Where a rebuild goes on reading: after the last row it restored. */
export type HistoryCursor = { streamId: string; id: string };

/** The published rows a service keeps (prismaOutboxHistory in prisma-outbox-source.ts). */
export type OutboxHistory = {
  /**
   * Up to `limit` rows published at or after `since` that have a stream id, after `after`,
   * in stream-id order (numeric `<ms>-<seq>`, then row id): per stream, the order Redis
   * requires of explicit ids.
   */
  published(options: { since: Date; after: HistoryCursor | null; limit: number }): Promise<PublishedOutboxRow[]>;
};

/** Exists while Redis holds `producer`'s published history. No TTL: only a data loss removes it. */
export const outboxSentinelKey = (producer: string) => `outbox:sentinel:${producer}`;
const rebuildLockKey = (producer: string) => `outbox:rebuild:${producer}`;
const LOCK_LOST_ERROR = "OUTBOX_REBUILD_LOCK_LOST";

/**
 * Puts one event back where it was, unless it still is (its dedupe key exists). Each call
 * re-arms the lock and refuses once the lock is not ours: after a second data loss, or once
 * another replica took over, a late restore must not land before the real rebuild's.
 * KEYS: lock, dedupe key, stream. ARGV: token, lock ms, dedupe ttl seconds, max length (0:
 * never trimmed), stream id, envelope JSON.
 */
const RESTORE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('${LOCK_LOST_ERROR}') end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then return 'present' end
local added
if ARGV[4] == '0' then
  added = redis.pcall('XADD', KEYS[3], ARGV[5], 'envelope', ARGV[6])
else
  added = redis.pcall('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], ARGV[5], 'envelope', ARGV[6])
end
if type(added) == 'table' and added.err then
  if string.find(added.err, 'equal or smaller', 1, true) then return 'out_of_order' end
  return added
end
redis.call('SET', KEYS[2], ARGV[5], 'EX', ARGV[3])
return 'restored'
`;

/**
 * Ends a rebuild held under the lock: sets the sentinel (when ARGV[2] is not empty) and frees
 * the lock, atomically, only if the lock is still ours. KEYS: lock, sentinel. ARGV: token, sentinel value.
 */
const FINISH_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2]) end
redis.call('DEL', KEYS[1])
return 1
`;

type RestoreResult = "present" | "restored" | "out_of_order";
type WithRebuildCommands = Redis & {
  restoreOutboxEvent(lock: string, dedupe: string, stream: string, token: string, lockMs: number, ttl: number, maxLen: number, streamId: string, json: string): Promise<RestoreResult>;
  finishOutboxRebuild(lock: string, sentinel: string, token: string, value: string): Promise<number>;
};

function withRebuildCommands(redis: Redis): WithRebuildCommands {
  if (!("restoreOutboxEvent" in redis)) redis.defineCommand("restoreOutboxEvent", { numberOfKeys: 3, lua: RESTORE_SCRIPT });
  if (!("finishOutboxRebuild" in redis)) redis.defineCommand("finishOutboxRebuild", { numberOfKeys: 2, lua: FINISH_SCRIPT });
  return redis as WithRebuildCommands;
}

export type OutboxRebuildOptions = {
  /** The service whose outbox this is: names the sentinel and the lock, and goes in each envelope. */
  producer: string;
  history: OutboxHistory;
  redis: Redis;
  logger: Logger;
  metrics?: Metrics;
  /** How far back rows are restored (the retention); never further than the dedupe keys live. */
  windowMs: number;
  streamMaxLen: number;
  dedupeTtlSeconds?: number;
  batchSize?: number;
  lockMs?: number;
};

/**
 * Keeps the published history in Redis whole for the relay (OutboxHistoryGuard). A missing
 * sentinel means Redis lost its data (or has never had this producer's history); so does a
 * missing dedupe key of the last event this relay published (a Redis back from an older
 * snapshot, or a failover that lost the last writes: then the sentinel is deleted, which
 * stops every replica). One replica, under a lock, reads the published rows of the window
 * in stream-id order and puts each event back at its stream id; the others publish nothing
 * meanwhile, so new events get ids after the restored ones. An event whose id is not above
 * its stream's last one cannot be put back (another producer's restored or new event came
 * first on that topic): it is counted (`outbox_events_restored_total{result="out_of_order"}`)
 * and logged. Pub/sub is not replayed: live subscribers read the stream after reconnecting.
 */
export function createOutboxRebuild(options: OutboxRebuildOptions): OutboxHistoryGuard {
  const { producer, history, logger } = options;
  const redis = withRebuildCommands(options.redis);
  const sentinelKey = outboxSentinelKey(producer);
  const lockKey = rebuildLockKey(producer);
  const dedupeTtlSeconds = options.dedupeTtlSeconds ?? DEFAULT_DEDUPE_TTL_SECONDS;
  // A row published longer ago than its dedupe key lives would be restored as if it were new.
  const windowMs = Math.min(options.windowMs, dedupeTtlSeconds * 1000);
  const batchSize = options.batchSize ?? 500;
  const lockMs = options.lockMs ?? 30_000;
  const restoredTotal = options.metrics
    ? sharedCounter(options.metrics, {
        name: "outbox_events_restored_total",
        help: "Published events a rebuild found in Redis (present), put back (restored) or could not put back in order (out_of_order)",
        labelNames: ["result"],
      })
    : undefined;
  let lastPublished: { id: string; at: number } | undefined;

  /** False when `going` said to stop between two batches (the relay is stopping). */
  async function restoreAll(token: string, going: () => boolean): Promise<boolean> {
    const started = Date.now();
    const since = new Date(started - windowMs);
    // Also every first start on a Redis: only what the rebuild finds missing is worth a warning.
    logger.info({ producer, since: since.toISOString() }, "Redis has no sentinel of the published event history: rebuilding the event streams from the outbox");
    const counts: Record<RestoreResult, number> = { restored: 0, present: 0, out_of_order: 0 };
    let after: HistoryCursor | null = null;
    for (;;) {
      // A shutdown does not wait for a long rebuild: the next replica starts it over.
      if (!going()) return false;
      const rows = await history.published({ since, after, limit: batchSize });
      const now = Date.now();
      // One connection, commands in order: each stream gets its events in ascending ids.
      const results = await Promise.all(
        rows.map((row) =>
          redis.restoreOutboxEvent(
            lockKey,
            outboxDedupeKey(row.id),
            `${EVENT_STREAM_PREFIX}${row.topic}`,
            token,
            lockMs,
            // The restored key expires when the first one would have.
            Math.max(1, Math.ceil(dedupeTtlSeconds - (now - row.publishedAt.getTime()) / 1000)),
            streamMaxLenFor(row.topic, options.streamMaxLen),
            row.streamId,
            JSON.stringify(toEnvelope(row, producer)),
          ),
        ),
      );
      for (const result of results) {
        counts[result] += 1;
        restoredTotal?.inc({ result });
      }
      if (rows.length < batchSize) break;
      const last = rows.at(-1)!;
      after = { streamId: last.streamId, id: last.id };
    }
    const summary = { producer, restored: counts.restored, present: counts.present, outOfOrder: counts.out_of_order, ms: Date.now() - started };
    if (counts.out_of_order > 0) {
      logger.warn(summary, "rebuilt the event streams, but some events could not be put back: their stream already had later ones (another producer writes the same topic)");
    } else if (counts.restored > 0) {
      logger.warn(summary, "Redis had lost published events: rebuilt the event streams");
    } else {
      logger.info(summary, "the event streams were whole");
    }
    return true;
  }

  /** Rebuilds under the lock; false when another replica holds it, or when told to stop. */
  async function rebuild(going: () => boolean): Promise<boolean> {
    const token = randomUUID();
    if ((await redis.set(lockKey, token, "PX", lockMs, "NX")) === null) {
      logger.debug({ producer }, "waiting for another replica to rebuild the event streams");
      return false;
    }
    let done: boolean;
    try {
      done = await restoreAll(token, going);
    } catch (error) {
      await redis.finishOutboxRebuild(lockKey, sentinelKey, token, "").catch(() => undefined);
      throw error;
    }
    if (!done) {
      await redis.finishOutboxRebuild(lockKey, sentinelKey, token, "");
      return false;
    }
    if ((await redis.finishOutboxRebuild(lockKey, sentinelKey, token, new Date().toISOString())) !== 1) {
      // Redis lost its data again, or the lock expired and another replica took over: start over.
      throw new Error(`${LOCK_LOST_ERROR}: the event stream rebuild of ${producer} lost its lock before it finished`);
    }
    return true;
  }

  return {
    sentinelKey,
    async ready(going = () => true) {
      // Its dedupe key outlives half the TTL with room to spare, whatever the clocks say.
      const tail = lastPublished && Date.now() - lastPublished.at < (dedupeTtlSeconds * 1000) / 2 ? outboxDedupeKey(lastPublished.id) : undefined;
      const [sentinel, last] = await Promise.all([redis.exists(sentinelKey), tail ? redis.exists(tail) : Promise.resolve(1)]);
      if (sentinel === 1 && last === 1) return true;
      lastPublished = undefined;
      if (sentinel === 1) {
        logger.warn({ producer, dedupeKey: tail }, "Redis no longer has the last event this relay published (an older snapshot, or a failover lost writes)");
        await redis.del(sentinelKey);
      }
      return rebuild(going);
    },
    published(eventId) {
      lastPublished = { id: eventId, at: Date.now() };
    },
  };
}
