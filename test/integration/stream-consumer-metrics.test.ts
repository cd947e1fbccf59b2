import { randomUUID } from "node:crypto";
import { addStreamConsumerMetrics, createMetrics, createRedis, streamKey } from "@startales/service-kit";
import { metricValue } from "../testkit/metrics";

/**
 * The consumer-group series against the real Redis: `stream_consumer_lag` counts what the
 * group has not read, `stream_consumer_pending` what it read and did not acknowledge, from
 * before the stream exists to entries deleted where Redis can no longer compute the lag.
 */

const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "stream-consumer-metrics-test");
const topics: string[] = [];
afterAll(async () => {
  for (const topic of topics) await redis.del(streamKey(topic));
  redis.disconnect();
});

function setUp() {
  // An integration topic: its family is the whole topic, as for events:integration:notifications.
  const topic = `integration:test-${randomUUID()}`;
  topics.push(topic);
  const metrics = createMetrics("stream-consumer-test");
  addStreamConsumerMetrics(metrics, redis, [{ topic, group: "readers" }], { cacheMs: 0 });
  const state = async () => {
    const text = await metrics.registry.metrics();
    const labels = { stream: topic, group: "readers" };
    return { lag: metricValue(text, "stream_consumer_lag", labels), pending: metricValue(text, "stream_consumer_pending", labels) };
  };
  return { key: streamKey(topic), state };
}

const read = async (key: string, count: number) => {
  const result = (await redis.xreadgroup("GROUP", "readers", "reader-1", "COUNT", count, "STREAMS", key, ">")) as [string, [string, string[]][]][];
  return result[0]![1].map(([id]) => id);
};

describe("stream consumer lag", () => {
  it("follows entries added, read and acknowledged; 0 before the stream exists", async () => {
    const { key, state } = setUp();
    expect(await state()).toEqual({ lag: 0, pending: 0 });

    for (let i = 0; i < 5; i++) await redis.xadd(key, "*", "envelope", `{"n":${i}}`);
    // No group yet: it will start at the stream's beginning, so all five are unread.
    expect(await state()).toEqual({ lag: 5, pending: 0 });

    await redis.xgroup("CREATE", key, "readers", "0");
    expect(await state()).toEqual({ lag: 5, pending: 0 });

    const ids = await read(key, 3);
    expect(await state()).toEqual({ lag: 2, pending: 3 });

    await redis.xack(key, "readers", ids[0]!, ids[1]!);
    await redis.xadd(key, "*", "envelope", '{"n":5}');
    expect(await state()).toEqual({ lag: 3, pending: 1 });
  });

  it("counts the unread entries when a deletion keeps Redis from computing the lag", async () => {
    const { key, state } = setUp();
    const added: string[] = [];
    for (let i = 0; i < 5; i++) added.push((await redis.xadd(key, "*", "envelope", `{"n":${i}}`))!);
    await redis.xgroup("CREATE", key, "readers", "0");
    await read(key, 1);
    await redis.xdel(key, added[3]!);
    const groups = (await redis.xinfo("GROUPS", key)) as unknown[][];
    expect(groups[0]![groups[0]!.indexOf("lag") + 1]).toBeNull();
    expect(await state()).toEqual({ lag: 3, pending: 1 });
  });
});
