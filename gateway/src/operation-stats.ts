import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { OPERATION_LATENCY_BUCKETS_MS, Topics, eventData, histogramBucket, streamKey, type EventData, type EventEnvelope, type Logger, type Redis } from "@startales/service-kit";

/** What one operation told the recorder, its labels already bounded (client-identity.ts, createOperationLabels). */
export type OperationSample = { operation: string; clientName: string; clientVersion: string; durationMs: number; errorCodes: string[]; deprecated: string[] };

/** One operation × client × version of a window, as the contract (OPERATION_STATS) carries it. */
type Stats = EventData<"OPERATION_STATS">["operations"][number];

/** Keys (operation × client × version) a window holds; past it, operations count as `other` so memory and the event stay bounded. */
export const MAX_KEYS_PER_WINDOW = 1_000;

/**
 * Per-window usage statistics for analytics (Apollo's usage reporting, kept in the cluster):
 * every GraphQL operation the gateway answers is counted by operation and client, with its
 * error codes, a latency histogram and the deprecated schema elements it used. At the end
 * of each window (a minute, aligned to the clock) the replica appends one OPERATION_STATS
 * event to the gateway's firehose — only while analytics' consumer group has made that
 * stream (NOMKSTREAM), so a cluster without analytics writes nothing. A window Redis did not
 * take is merged into the next, not dropped; what a replica holds when it is killed is lost
 * (at most one window of counts, never a request).
 */
export function createOperationStats(deps: { redis: Redis; firehosePrefix: string; logger: Logger; windowMs: number; now?: () => number; replica?: string }) {
  const now = deps.now ?? Date.now;
  const replica = deps.replica ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const stream = streamKey(Topics.firehose("gateway", deps.firehosePrefix));
  let window = new Map<string, Stats>();
  let windowStart = now();
  let windows = 0;
  let timer: NodeJS.Timeout | undefined;

  const statsFor = (map: Map<string, Stats>, operation: string, clientName: string, clientVersion: string): Stats => {
    let key = `${operation}\n${clientName}\n${clientVersion}`;
    if (!map.has(key) && map.size >= MAX_KEYS_PER_WINDOW) [operation, key] = ["other", `other\n${clientName}\n${clientVersion}`];
    let stats = map.get(key);
    if (!stats) {
      stats = { operation, clientName, clientVersion, requests: 0, errors: 0, errorCodes: {}, durationMsSum: 0, durationBuckets: new Array<number>(OPERATION_LATENCY_BUCKETS_MS.length + 1).fill(0), deprecated: {} };
      map.set(key, stats);
    }
    return stats;
  };

  function record(sample: OperationSample): void {
    const stats = statsFor(window, sample.operation, sample.clientName, sample.clientVersion);
    stats.requests += 1;
    if (sample.errorCodes.length) stats.errors += 1;
    for (const code of new Set(sample.errorCodes)) stats.errorCodes[code] = (stats.errorCodes[code] ?? 0) + 1;
    stats.durationMsSum += sample.durationMs;
    stats.durationBuckets[histogramBucket(OPERATION_LATENCY_BUCKETS_MS, sample.durationMs)]! += 1;
    for (const element of new Set(sample.deprecated)) stats.deprecated[element] = (stats.deprecated[element] ?? 0) + 1;
  }

  /** Adds an unsent window's counts into the current one. */
  function mergeBack(unsent: Map<string, Stats>): void {
    for (const old of unsent.values()) {
      const stats = statsFor(window, old.operation, old.clientName, old.clientVersion);
      stats.requests += old.requests;
      stats.errors += old.errors;
      stats.durationMsSum += old.durationMsSum;
      old.durationBuckets.forEach((n, i) => (stats.durationBuckets[i]! += n));
      for (const [code, n] of Object.entries(old.errorCodes)) stats.errorCodes[code] = (stats.errorCodes[code] ?? 0) + n;
      for (const [element, n] of Object.entries(old.deprecated)) stats.deprecated[element] = (stats.deprecated[element] ?? 0) + n;
    }
  }

  /** Ends the window: one event for it, if it counted anything. */
  async function flush(): Promise<void> {
    const [ended, start] = [window, windowStart];
    window = new Map();
    windowStart = now();
    if (ended.size === 0) return;
    const topic = Topics.api(replica);
    const minute = new Date(Math.floor(start / 60_000) * 60_000).toISOString();
    const envelope: EventEnvelope = {
      id: randomUUID(),
      type: "OPERATION_STATS",
      topic,
      occurredAt: new Date(now()).toISOString(),
      aggregateId: replica,
      version: windows + 1,
      data: eventData(topic, "OPERATION_STATS", { minute, operations: [...ended.values()] }),
      traceparent: null,
      producer: "gateway",
    };
    if (deps.redis.status !== "ready") {
      // Not connected: a command would wait in ioredis' queue (and hold a stopping gateway); the next window takes these counts.
      mergeBack(ended);
      return;
    }
    try {
      // NOMKSTREAM: appended only to a firehose analytics reads (its group made the stream).
      await deps.redis.xadd(stream, "NOMKSTREAM", "*", "envelope", JSON.stringify(envelope));
      windows += 1;
    } catch (error) {
      deps.logger.warn({ err: error, operations: ended.size }, "could not publish the operation statistics; they go with the next window");
      mergeBack(ended);
    }
  }

  const schedule = () => {
    // At each multiple of the window since the epoch, so every replica's windows line up.
    timer = setTimeout(
      () => {
        void flush().finally(() => timer && schedule());
      },
      deps.windowMs - (now() % deps.windowMs),
    );
    timer.unref();
  };

  return {
    record,
    /** Ends the current window now (tests; stop). */
    flush,
    start(): void {
      if (!timer) schedule();
    },
    async stop(): Promise<void> {
      clearTimeout(timer);
      timer = undefined;
      await flush();
    },
  };
}

export type OperationStats = ReturnType<typeof createOperationStats>;
