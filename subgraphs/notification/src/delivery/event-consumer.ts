import { hostname } from "node:os";
import { NOTIFICATION_REQUESTED, SpanKind, parseEvent, streamKey, toStreamEvent, withSpan, type Logger, type RawStreamEntry, type Redis } from "@startales/service-kit";
import type { Db } from "../db";
import { parseRequest, render } from "../domain/templates";
import { writeNotifications } from "../domain/notification-writer";
import type { DeliveryQueue } from "./queue";

/** The consumer group that turns integration events into notifications (the stream's only group). */
export const EVENTS_GROUP = "notification";

type Entry = RawStreamEntry;
export type ConsumeOutcome = "created" | "duplicate" | "invalid" | "failed" | "dead-lettered";

/**
 * Reads `events:<NOTIFICATION_TOPIC>` (`events:integration:notifications`) as a consumer group: each event is applied (its
 * notifications written, their deliveries queued) before it is acknowledged, and the same
 * event applied twice writes nothing new (sourceKey `event:<id>`). Entries a crashed consumer
 * took are claimed after `claimIdleMs`. The relay never trims this stream; acknowledged
 * entries are trimmed here, so nothing is lost however long the pool is down. An entry that
 * fails stays pending (later ones go on) and is retried at each claim; one that failed
 * `maxDeliveries` times is moved to `<stream>:dead-letter` for operators, never dropped.
 */
export function createEventConsumer(deps: {
  redis: Redis;
  /** The topic whose stream is read (NOTIFICATION_TOPIC). */
  topic: string;
  db: Db;
  queue: DeliveryQueue;
  push: boolean;
  logger: Logger;
  blockMs: number;
  claimIdleMs: number;
  /** Deliveries of one entry (reads and claims) before it goes to the dead-letter stream. */
  maxDeliveries: number;
  onEvent?: (outcome: ConsumeOutcome) => void;
}) {
  const { db, queue, logger } = deps;
  const key = streamKey(deps.topic);
  const consumer = `${hostname()}-${process.pid}`;
  // Blocking reads hold their connection: this one is the consumer's own.
  const connection = deps.redis.duplicate({ connectionName: "notification-events" });
  let running = false;
  let blocking = false;
  let loop: Promise<void> | undefined;

  async function apply(entry: Entry): Promise<ConsumeOutcome> {
    const id = entry[0];
    const raw = toStreamEvent(entry);
    // Read through the contract: the envelope, then the type's data.
    const parsed = raw ? parseEvent(raw) : ({ ok: false, error: "no envelope" } as const);
    const envelope = parsed.ok && parsed.event.type === NOTIFICATION_REQUESTED ? parsed.event : null;
    const request = envelope ? parseRequest(envelope.data) : null;
    if (!envelope || !request) {
      // Kept visible, not retried forever: a sender wrote something this version cannot read.
      logger.error({ streamId: id, type: raw?.type, error: parsed.ok ? "not a NOTIFICATION_REQUESTED" : parsed.error }, "unreadable notification request; acknowledged without notifying");
      return "invalid";
    }
    // Continues the trace of the request that changed the campaign (the event's traceparent).
    return withSpan(
      "notification-worker",
      "consume NOTIFICATION_REQUESTED",
      async () => {
        const written = await writeNotifications(db, render(envelope.id, request), { push: deps.push });
        await queue.enqueue(written.deliveryIds);
        return written.created.length > 0 ? "created" : "duplicate";
      },
      { kind: SpanKind.CONSUMER, parent: envelope.traceparent ?? "root", attributes: { "startales.event_id": envelope.id } },
    );
  }

  async function handle(entries: Entry[]): Promise<void> {
    for (const entry of entries) {
      let outcome: ConsumeOutcome;
      try {
        outcome = await apply(entry);
      } catch (error) {
        // Left pending: the next claim retries it; the entries after it go on meanwhile.
        logger.warn({ err: error, streamId: entry[0] }, "could not apply a notification request; it will be retried");
        deps.onEvent?.("failed");
        continue;
      }
      await connection.xack(key, EVENTS_GROUP, entry[0]);
      deps.onEvent?.(outcome);
    }
    if (entries.length > 0) await trim();
  }

  /** Entries claimed back: those delivered too often go to the dead-letter stream, the rest are retried. */
  async function retry(claimed: Entry[]): Promise<void> {
    const retried: Entry[] = [];
    for (const entry of claimed) {
      const [info] = (await connection.xpending(key, EVENTS_GROUP, entry[0], entry[0], 1)) as [string, string, number, number][];
      if ((info?.[3] ?? 0) <= deps.maxDeliveries) {
        retried.push(entry);
        continue;
      }
      await connection.xadd(`${key}:dead-letter`, "*", ...entry[1], "failedDeliveries", String(info![3]));
      await connection.xack(key, EVENTS_GROUP, entry[0]);
      logger.error({ streamId: entry[0], deliveries: info![3] }, "notification request failed too often; moved to the dead-letter stream");
      deps.onEvent?.("dead-lettered");
    }
    await handle(retried);
  }

  /** Drops what the group has acknowledged: entries before the oldest pending (or the last delivered). */
  async function trim(): Promise<void> {
    const [pending, oldestPending] = (await connection.xpending(key, EVENTS_GROUP)) as [number, string | null];
    let minId: string | null;
    if (pending > 0) {
      minId = oldestPending;
    } else {
      const groups = (await connection.xinfo("GROUPS", key)) as unknown[][];
      const ours = groups.map((g) => Object.fromEntries(chunk(g))).find((g) => g.name === EVENTS_GROUP);
      minId = (ours?.["last-delivered-id"] as string | undefined) ?? null;
    }
    if (minId) await connection.xtrim(key, "MINID", minId);
  }

  async function ensureGroup(): Promise<void> {
    try {
      // From the start of the stream: requests made before the pool first ran are not skipped.
      await connection.xgroup("CREATE", key, EVENTS_GROUP, "0", "MKSTREAM");
    } catch (error) {
      if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
    }
  }

  const read = async (id: string, block: boolean): Promise<Entry[]> => {
    const args: (string | number)[] = ["GROUP", EVENTS_GROUP, consumer, "COUNT", 100, ...(block ? ["BLOCK", deps.blockMs] : []), "STREAMS", key, id];
    blocking = block;
    try {
      const result = (await (connection.xreadgroup as (...a: (string | number)[]) => Promise<[string, Entry[]][] | null>)(...args)) ?? [];
      return result[0]?.[1] ?? [];
    } finally {
      blocking = false;
    }
  };

  async function run(): Promise<void> {
    // Our own unacknowledged entries first (a failure, or a restart under the same name),
    // walked once from the oldest: one that fails again waits for the next claim.
    let backlog: string | null = "0";
    let lastClaim = 0;
    while (running) {
      try {
        if (backlog !== null) {
          await ensureGroup();
          const mine = await read(backlog, false);
          backlog = mine.length === 0 ? null : mine.at(-1)![0];
          await handle(mine);
          continue;
        }
        if (Date.now() - lastClaim >= deps.claimIdleMs) {
          lastClaim = Date.now();
          const [, claimed] = (await connection.xautoclaim(key, EVENTS_GROUP, consumer, deps.claimIdleMs, "0-0", "COUNT", 100)) as [string, Entry[]];
          await retry(claimed.filter((entry) => Array.isArray(entry[1])));
        }
        if (!running) break;
        await handle(await read(">", true));
      } catch (error) {
        if (!running) return;
        logger.warn({ err: error }, "notification event consumer failed; retrying what it had not acknowledged");
        backlog = "0";
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      // A blocking read ends at once; an entry being applied is applied and acknowledged first.
      if (blocking) connection.disconnect();
      await loop;
      connection.disconnect();
    },
  };
}

function chunk(flat: unknown[]): [string, unknown][] {
  const pairs: [string, unknown][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([String(flat[i]), flat[i + 1]]);
  return pairs;
}
