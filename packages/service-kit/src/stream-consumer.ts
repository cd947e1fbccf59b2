import { hostname } from "node:os";
import { parseEvent, type ParsedEvent } from "@startales/contracts";
import { compareStreamIds, fieldsOf, streamKey, toStreamEvent, type RawStreamEntry } from "./event-stream";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import type { Redis } from "./redis";
import { addStreamConsumerMetrics } from "./stream-consumer-metrics";

/** What became of one entry besides the handler's own outcomes. */
export type StreamConsumerOutcome = "invalid" | "failed" | "dead-lettered";

/** An event as a consumer gets it: checked against its contract, with its position in the stream. */
export type ConsumedEvent = ParsedEvent & { streamId: string };

export type StreamConsumerOptions<O extends string> = {
  redis: Redis;
  /** The topic whose stream `events:<topic>` is read. */
  topic: string;
  /** The consumer group: one per reading service, each gets every entry. */
  group: string;
  logger: Logger;
  /** How long a read waits for new entries. */
  blockMs: number;
  /** An entry a consumer took and has not acknowledged for this long is claimed by another (its consumer died, or it failed). */
  claimIdleMs: number;
  /** Deliveries of one entry (reads and claims) before it goes to the dead-letter stream. */
  maxDeliveries: number;
  /** Entries per read. */
  batchSize?: number;
  /** The group's own trimming: on for streams only their consumer trims (`integration:`), so acknowledged entries do not pile up. */
  trimAcknowledged: boolean;
  /**
   * Every group that reads the stream, this one included, when there are several (their
   * family's `groups` in the contracts). Each consumer makes them all, from the stream's
   * start, and trims only what every one of them has acknowledged: an entry is never trimmed
   * before a reader that has not started yet has read it.
   */
  groupsOnStream?: readonly string[];
  onOutcome?(outcome: O | StreamConsumerOutcome): void;
  /**
   * Whether what events are applied to can take them now (a database's readiness check).
   * While it cannot, nothing is read or claimed: entries wait in the stream, their delivery
   * counts do not grow, and an outage does not end in the dead-letter stream.
   */
  canApply?: () => Promise<boolean>;
  /** Where `stream_consumer_lag` and `stream_consumer_pending` of this group are exported. */
  metrics?: Metrics;
} & (
  | {
      /**
       * Applies one event; resolves to an outcome label once it is applied (then it is
       * acknowledged), throws to leave it pending (retried at the next claim). It must be
       * idempotent on the event's id: delivery is at least once.
       */
      apply(event: ConsumedEvent): Promise<O>;
    }
  | {
      /**
       * Applies a read's events together (one statement for many, say), in stream order;
       * resolves to each one's outcome, in the same order, once all are applied (then all are
       * acknowledged at once). When it throws, the events are applied one at a time, so one
       * that cannot be applied stays pending alone. Idempotent on each event's id, as `apply`.
       */
      applyBatch(events: ConsumedEvent[]): Promise<O[]>;
    }
);

export type EventStreamConsumer = { start(): void; stop(): Promise<void> };

/**
 * Reads a topic's stream as a consumer group, at least once and without loss: each entry is
 * applied, then acknowledged; the process's own unacknowledged entries are read again at
 * start; entries a dead consumer took are claimed after `claimIdleMs`; one that failed
 * `maxDeliveries` times, or that breaks its contract, is moved to `<stream>:dead-letter`
 * for operators (with why), never dropped. An entry that fails stays pending while the ones
 * after it go on.
 */
export function createStreamConsumer<O extends string>(options: StreamConsumerOptions<O>): EventStreamConsumer {
  const { logger, group } = options;
  const key = streamKey(options.topic);
  const deadLetter = `${key}:dead-letter`;
  const batch = options.batchSize ?? 100;
  const consumer = `${hostname()}-${process.pid}`;
  // Blocking reads hold their connection: this one is the consumer's own.
  const connection = options.redis.duplicate({ connectionName: `consumer-${group}` });
  // A duplicate has none of its original's listeners: without one, some errors would end the process (redis.ts).
  connection.on("error", (error: Error) => {
    if (running) logger.warn({ err: error, group }, "stream consumer's Redis connection error");
  });
  if (options.metrics) addStreamConsumerMetrics(options.metrics, options.redis, [{ topic: options.topic, group }], { logger });
  let running = false;
  let blocking = false;
  let loop: Promise<void> | undefined;

  async function toDeadLetter(entry: RawStreamEntry, why: Record<string, string>): Promise<void> {
    await connection.xadd(deadLetter, "*", ...entry[1], ...Object.entries(why).flat());
    await connection.xack(key, group, entry[0]);
  }

  async function handle(entries: RawStreamEntry[]): Promise<void> {
    if ("applyBatch" in options) await handleBatch(entries, options.applyBatch);
    else await handleEach(entries, options.apply);
    if (entries.length > 0 && options.trimAcknowledged) await trim();
  }

  /** The entry as its contract reads it, or null once it is in the dead-letter stream (a producer's bug, not something a retry mends). */
  async function parsed(entry: RawStreamEntry): Promise<ConsumedEvent | null> {
    const raw = toStreamEvent(entry);
    const result = raw ? parseEvent(raw) : ({ ok: false, error: "no readable envelope" } as const);
    if (result.ok) return { ...result.event, streamId: entry[0] };
    await toDeadLetter(entry, { contractError: result.error });
    logger.error({ streamId: entry[0], type: raw?.type, error: result.error }, "an event breaks its contract; moved to the dead-letter stream");
    options.onOutcome?.("invalid");
    return null;
  }

  async function handleBatch(entries: RawStreamEntry[], applyBatch: (events: ConsumedEvent[]) => Promise<O[]>): Promise<void> {
    const events: ConsumedEvent[] = [];
    for (const entry of entries) {
      const event = await parsed(entry);
      if (event) events.push(event);
    }
    if (events.length === 0) return;
    if (events.length > 1) {
      try {
        await acknowledge(events, await applyBatch(events));
        return;
      } catch (error) {
        // One by one, so an event that cannot be applied holds back none of the others.
        logger.warn({ err: error, events: events.length, first: events[0]!.streamId }, "could not apply a batch of events; applying them one by one");
      }
    }
    for (const event of events) {
      try {
        await acknowledge([event], await applyBatch([event]));
      } catch (error) {
        // Left pending: the next claim retries it (each delivery counts toward the dead letter).
        logger.warn({ err: error, streamId: event.streamId, type: event.type }, "could not apply an event; it will be retried");
        options.onOutcome?.("failed");
      }
    }
  }

  async function acknowledge(events: ConsumedEvent[], outcomes: O[]): Promise<void> {
    await connection.xack(key, group, ...events.map((event) => event.streamId));
    outcomes.forEach((outcome) => options.onOutcome?.(outcome));
  }

  async function handleEach(entries: RawStreamEntry[], apply: (event: ConsumedEvent) => Promise<O>): Promise<void> {
    for (const entry of entries) {
      const event = await parsed(entry);
      if (!event) continue;
      let outcome: O;
      try {
        outcome = await apply(event);
      } catch (error) {
        // Left pending: the next claim retries it; the entries after it go on meanwhile.
        logger.warn({ err: error, streamId: entry[0], type: event.type }, "could not apply an event; it will be retried");
        options.onOutcome?.("failed");
        continue;
      }
      await connection.xack(key, group, entry[0]);
      options.onOutcome?.(outcome);
    }
  }

  /** Entries claimed back: those delivered too often go to the dead-letter stream, the rest are retried. */
  async function retry(claimed: RawStreamEntry[]): Promise<void> {
    const retried: RawStreamEntry[] = [];
    for (const entry of claimed) {
      const [info] = (await connection.xpending(key, group, entry[0], entry[0], 1)) as [string, string, number, number][];
      const deliveries = info?.[3] ?? 0;
      if (deliveries <= options.maxDeliveries) {
        retried.push(entry);
        continue;
      }
      await toDeadLetter(entry, { failedDeliveries: String(deliveries) });
      logger.error({ streamId: entry[0], deliveries }, "an event failed too often; moved to the dead-letter stream");
      options.onOutcome?.("dead-lettered");
    }
    await handle(retried);
  }

  const groups = [...new Set([group, ...(options.groupsOnStream ?? [])])];

  /** Where a group still needs the stream from: its oldest pending entry, else past its last delivered one. */
  async function neededFrom(name: string, lastDelivered: string | undefined): Promise<string | null> {
    const [pending, oldestPending] = (await connection.xpending(key, name)) as [number, string | null];
    return pending > 0 ? oldestPending : (lastDelivered ?? null);
  }

  /** Drops what every group reading the stream has acknowledged: entries before the oldest any of them still needs. */
  async function trim(): Promise<void> {
    const infos = ((await connection.xinfo("GROUPS", key)) as unknown[][]).map(fieldsOf);
    let minId: string | null = null;
    for (const name of groups) {
      const info = infos.find((g) => g.name === name);
      // A reader's group that is not there (deleted by hand) has read nothing: keep everything.
      if (!info) return;
      const needed = await neededFrom(name, info["last-delivered-id"] as string | undefined);
      if (needed === null) return;
      if (minId === null || compareStreamIds(needed, minId) < 0) minId = needed;
    }
    if (minId) await connection.xtrim(key, "MINID", minId);
  }

  async function ensureGroup(): Promise<void> {
    for (const name of groups) {
      try {
        // From the start of the stream: events written before the group first ran are not skipped.
        await connection.xgroup("CREATE", key, name, "0", "MKSTREAM");
      } catch (error) {
        if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
      }
    }
  }

  const read = async (id: string, block: boolean): Promise<RawStreamEntry[]> => {
    const args: (string | number)[] = ["GROUP", group, consumer, "COUNT", batch, ...(block ? ["BLOCK", options.blockMs] : []), "STREAMS", key, id];
    blocking = block;
    try {
      const result = (await (connection.xreadgroup as (...a: (string | number)[]) => Promise<[string, RawStreamEntry[]][] | null>)(...args)) ?? [];
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
    let paused = false;
    while (running) {
      try {
        if (options.canApply && !(await options.canApply())) {
          if (!paused) logger.warn({ group }, "the consumer's store is unavailable; reading nothing until it is back");
          paused = true;
          await new Promise((resolve) => setTimeout(resolve, Math.min(options.blockMs, 1_000)));
          continue;
        }
        if (paused) {
          logger.info({ group }, "the consumer's store is back; reading again, its own pending entries first");
          paused = false;
          backlog = "0";
        }
        if (backlog !== null) {
          await ensureGroup();
          const mine = await read(backlog, false);
          backlog = mine.length === 0 ? null : mine.at(-1)![0];
          await handle(mine);
          continue;
        }
        if (Date.now() - lastClaim >= options.claimIdleMs) {
          lastClaim = Date.now();
          const [, claimed] = (await connection.xautoclaim(key, group, consumer, options.claimIdleMs, "0-0", "COUNT", batch)) as [string, RawStreamEntry[]];
          await retry(claimed.filter((entry) => Array.isArray(entry[1])));
        }
        if (!running) break;
        await handle(await read(">", true));
      } catch (error) {
        if (!running) return;
        logger.warn({ err: error, group }, "stream consumer failed; retrying what it had not acknowledged");
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

