import { fieldsOf, streamKey } from "./event-stream";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import type { Redis } from "./redis";
import { addScrapedGauge, readOnScrape } from "./scraped-gauge";
import { topicFamily } from "./topics";

/** A consumer group reading the stream of a topic (`events:<topic>`). */
export type StreamConsumer = { topic: string; group: string };

/** When Redis cannot say a group's lag (entries were deleted inside its unread range), they are counted, up to this many. */
const MAX_COUNTED_LAG = 10_000;

type GroupState = { lag: number; pending: number };

/**
 * How far a process's consumer groups are behind their streams, read from Redis when
 * scraped: `stream_consumer_lag{stream,group}`, entries added that the group has not read
 * yet (a consumer that is down or too slow), and `stream_consumer_pending{stream,group}`,
 * entries read but not acknowledged (being applied, or failing and waiting for a retry).
 * `stream` is the topic's family, so a label never carries an id. A stream or group that
 * does not exist yet reads as 0 (the group reads from the stream's start when created).
 */
export function addStreamConsumerMetrics(metrics: Metrics, redis: Redis, consumers: readonly StreamConsumer[], options: { cacheMs?: number; timeoutMs?: number; logger?: Logger } = {}): void {
  const states = readOnScrape(() => Promise.all(consumers.map(async (consumer) => ({ consumer, state: await groupState(redis, consumer) }))), {
    cacheMs: options.cacheMs ?? 5_000,
    timeoutMs: options.timeoutMs ?? 2_000,
    logger: options.logger,
    what: "stream consumer groups",
  });
  const labels = ({ topic, group }: StreamConsumer) => ({ stream: topicFamily(topic), group });
  addScrapedGauge(metrics, {
    name: "stream_consumer_lag",
    help: "Entries of an event stream its consumer group has not read yet, by stream family and group",
    labelNames: ["stream", "group"] as const,
    samples: async () => (await states())?.map(({ consumer, state }) => ({ labels: labels(consumer), value: state.lag })),
  });
  addScrapedGauge(metrics, {
    name: "stream_consumer_pending",
    help: "Entries of an event stream read by its consumer group and not acknowledged yet, by stream family and group",
    labelNames: ["stream", "group"] as const,
    samples: async () => (await states())?.map(({ consumer, state }) => ({ labels: labels(consumer), value: state.pending })),
  });
}

async function groupState(redis: Redis, { topic, group }: StreamConsumer): Promise<GroupState> {
  const key = streamKey(topic);
  let groups: unknown[][];
  try {
    groups = (await redis.xinfo("GROUPS", key)) as unknown[][];
  } catch (error) {
    if (/no such key/i.test(String((error as Error).message))) return { lag: 0, pending: 0 };
    throw error;
  }
  const info = groups.map(fieldsOf).find((g) => g.name === group);
  // No group yet: it will be created at the stream's start, so every entry is unread.
  if (!info) return { lag: await redis.xlen(key), pending: 0 };
  const pending = Number(info.pending ?? 0);
  if (info.lag !== null && info.lag !== undefined) return { lag: Number(info.lag), pending };
  const unread = await redis.xrange(key, `(${String(info["last-delivered-id"])}`, "+", "COUNT", MAX_COUNTED_LAG);
  return { lag: unread.length, pending };
}

