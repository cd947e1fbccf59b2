import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { OPERATION_LATENCY_BUCKETS_MS, Topics, createLogger, parseEvent, streamKey } from "@startales/service-kit";
import { MAX_KEYS_PER_WINDOW, createOperationStats, type OperationSample } from "../../gateway/src/operation-stats";
import { testFirehosePrefix } from "../testkit/config";

/**
 * The gateway's usage statistics against real Redis: what one window's event says, that it
 * goes only to a firehose analytics reads, and that a window Redis did not take is sent with
 * the next one instead of lost.
 */

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const logger = createLogger("operation-stats-test", "silent");
const clients: Redis[] = [];
const connect = () => {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  client.on("error", () => undefined);
  clients.push(client);
  return client;
};
afterAll(() => Promise.all(clients.map((client) => (client.status === "end" ? undefined : client.quit()))));

const sample = (overrides: Partial<OperationSample> = {}): OperationSample => ({
  operation: "GalaxyMap",
  clientName: "web",
  clientVersion: "2.1.0",
  durationMs: 7,
  errorCodes: [],
  deprecated: [],
  ...overrides,
});

/** A firehose as analytics makes it (its group), and what has been appended to it. */
async function firehose(redis: Redis) {
  const prefix = testFirehosePrefix(randomUUID());
  const key = streamKey(Topics.firehose("gateway", prefix));
  await redis.xgroup("CREATE", key, "analytics", "0", "MKSTREAM");
  const read = async () => {
    const entries = (await redis.xrange(key, "-", "+")) as [string, string[]][];
    return entries.map(([, fields]) => {
      const parsed = parseEvent(JSON.parse(fields[1]!));
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.event;
    });
  };
  return { prefix, key, read };
}

it("sends one contract-checked event per window: per operation and client, error codes once per operation, a latency histogram, deprecated use", async () => {
  const redis = connect();
  const { prefix, key, read } = await firehose(redis);
  const at = Date.parse("2026-12-07T10:15:30Z");
  const stats = createOperationStats({ redis, firehosePrefix: prefix, logger, windowMs: 60_000, now: () => at, replica: "replica-1" });
  stats.record(sample({ durationMs: 3 }));
  stats.record(sample({ durationMs: 40, errorCodes: ["FORBIDDEN", "FORBIDDEN"], deprecated: ["Query.oldField"] }));
  stats.record(sample({ durationMs: 9_000, errorCodes: ["BAD_USER_INPUT"] }));
  stats.record(sample({ clientName: "ios", operation: "Me" }));
  await stats.flush();
  // An empty window sends nothing.
  await stats.flush();

  const events = await read();
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ type: "OPERATION_STATS", topic: Topics.api("replica-1"), aggregateId: "replica-1", version: 1, producer: "gateway" });
  const hist = (index: number[]) => index.reduce((b, i) => (b[i]! += 1, b), new Array<number>(OPERATION_LATENCY_BUCKETS_MS.length + 1).fill(0));
  expect(events[0]!.data).toEqual({
    minute: "2026-12-07T10:15:00.000Z",
    operations: [
      { operation: "GalaxyMap", clientName: "web", clientVersion: "2.1.0", requests: 3, errors: 2, errorCodes: { FORBIDDEN: 1, BAD_USER_INPUT: 1 }, durationMsSum: 9_043, durationBuckets: hist([0, 3, 10]), deprecated: { "Query.oldField": 1 } },
      { operation: "Me", clientName: "ios", clientVersion: "2.1.0", requests: 1, errors: 0, errorCodes: {}, durationMsSum: 7, durationBuckets: hist([1]), deprecated: {} },
    ],
  });
  await redis.del(key);
});

it("writes nothing where analytics has made no firehose", async () => {
  const redis = connect();
  const prefix = testFirehosePrefix(randomUUID());
  const stats = createOperationStats({ redis, firehosePrefix: prefix, logger, windowMs: 60_000 });
  stats.record(sample());
  await stats.flush();
  expect(await redis.exists(streamKey(Topics.firehose("gateway", prefix)))).toBe(0);
});

it("keeps a window Redis did not take and sends it with the next", async () => {
  const redis = connect();
  const { prefix, key, read } = await firehose(redis);
  const flaky = connect();
  await flaky.ping();
  const stats = createOperationStats({ redis: flaky, firehosePrefix: prefix, logger, windowMs: 60_000 });
  stats.record(sample());
  stats.record(sample({ errorCodes: ["FORBIDDEN"] }));
  flaky.disconnect();
  await stats.flush();
  expect(await read()).toEqual([]);

  await flaky.connect();
  stats.record(sample({ deprecated: ["Query.oldField"] }));
  await stats.flush();
  const events = await read();
  expect(events).toHaveLength(1);
  expect((events[0]!.data as { operations: unknown[] }).operations).toEqual([
    expect.objectContaining({ operation: "GalaxyMap", requests: 3, errors: 1, errorCodes: { FORBIDDEN: 1 }, deprecated: { "Query.oldField": 1 } }),
  ]);
  await redis.del(key);
});

it("bounds a window: past its distinct keys, operations count as `other`", async () => {
  const redis = connect();
  const { prefix, key, read } = await firehose(redis);
  const stats = createOperationStats({ redis, firehosePrefix: prefix, logger, windowMs: 60_000 });
  for (let i = 0; i < MAX_KEYS_PER_WINDOW + 5; i++) stats.record(sample({ operation: `Op${i}` }));
  await stats.flush();
  const operations = ((await read())[0]!.data as { operations: { operation: string; requests: number }[] }).operations;
  expect(operations).toHaveLength(MAX_KEYS_PER_WINDOW + 1);
  expect(operations.find((o) => o.operation === "other")?.requests).toBe(5);
  await redis.del(key);
});
