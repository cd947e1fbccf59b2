import { randomUUID } from "node:crypto";
import { createReadModelCache, createRedis, type Redis } from "@startales/service-kit";

/** The read model cache's two layers against the run's Redis: one process computes, another finds it. */
let redis: Redis;
beforeAll(async () => {
  redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "read-model-cache-test");
  // Connected first: a cache treats Redis that is not ready as away.
  await redis.ping();
});
afterAll(() => redis.disconnect());

const cacheOn = (prefix: string, extra: Partial<Parameters<typeof createReadModelCache>[0]> = {}) =>
  createReadModelCache({ redis, prefix, maxEntries: 100, maxBytes: 1_000_000, memoryTtlMs: 60_000, redisTtlSeconds: 60, ...extra });

/** A computation that resolves when told to, counting its calls. */
function gated<T>(value: T) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const calls = { count: 0 };
  return { calls, open: () => open(), compute: async () => (calls.count++, await gate, value) };
}

it("computes a miss once however many requests ask at the same time, then serves it from memory", async () => {
  const cache = cacheOn(`read-cache:test:${randomUUID()}:`);
  const map = gated({ tick: 3, systems: [{ id: "s1" }] });
  const readers = Array.from({ length: 25 }, () => cache.read("map:c:3:civ-1", map.compute));
  // All are waiting on the one computation before it resolves.
  await new Promise((resolve) => setImmediate(resolve));
  map.open();
  const answers = await Promise.all(readers);
  expect(map.calls.count).toBe(1);
  expect(new Set(answers).size).toBe(1);
  expect(answers[0]).toEqual({ tick: 3, systems: [{ id: "s1" }] });
  expect(await cache.read("map:c:3:civ-1", map.compute)).toBe(answers[0]);
  expect(map.calls.count).toBe(1);
  expect(cache.stats).toMatchObject({ computed: 1, memoryHits: 1, redisHits: 0 });
});

it("stores the serialized value in Redis with its TTL: another replica reads it without computing", async () => {
  const prefix = `read-cache:test:${randomUUID()}:`;
  const one = cacheOn(prefix, { redisTtlSeconds: 30 });
  const two = cacheOn(prefix, { redisTtlSeconds: 30 });
  await one.read("leaderboard:c:7:10", async () => [{ rank: 1, name: "Vel" }]);
  expect(await redis.get(`${prefix}leaderboard:c:7:10`)).toBe('[{"rank":1,"name":"Vel"}]');
  const ttl = await redis.ttl(`${prefix}leaderboard:c:7:10`);
  expect(ttl).toBeGreaterThan(20);
  expect(ttl).toBeLessThanOrEqual(30);
  const notAgain = jest.fn(async () => [{ rank: 1, name: "recomputed" }]);
  expect(await two.read("leaderboard:c:7:10", notAgain)).toEqual([{ rank: 1, name: "Vel" }]);
  expect(notAgain).not.toHaveBeenCalled();
  expect(two.stats).toMatchObject({ redisHits: 1, computed: 0 });
  // A response body is kept as the text it is.
  expect(await two.readText("body:c:7", async () => '{"data":{}}')).toBe('{"data":{}}');
  expect(await one.readText("body:c:7", async () => "recomputed")).toBe('{"data":{}}');
  await redis.del(`${prefix}leaderboard:c:7:10`, `${prefix}body:c:7`);
});

it("keeps no failure: the next read computes again, and waiting readers all see the error", async () => {
  const cache = cacheOn(`read-cache:test:${randomUUID()}:`);
  let calls = 0;
  const failing = async () => {
    calls++;
    throw new Error("database down");
  };
  const results = await Promise.allSettled([cache.read("world:c:1", failing), cache.read("world:c:1", failing)]);
  expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  expect(calls).toBe(1);
  expect(await cache.read("world:c:1", async () => ({ tick: 1 }))).toEqual({ tick: 1 });
});

it("keeps memory within its bounds of entries and bytes, the least recently used going first", async () => {
  const cache = cacheOn(`read-cache:test:${randomUUID()}:`, { maxEntries: 3, maxBytes: 40, redisTtlSeconds: 0 });
  for (const key of ["a", "b", "c"]) await cache.read(key, async () => key);
  await cache.read("a", async () => "recomputed"); // a is now the most recently used
  await cache.read("d", async () => "d");
  expect(cache.memory.entries).toBe(3);
  expect(await cache.read("a", async () => "recomputed")).toBe("a");
  expect(await cache.read("b", async () => "recomputed")).toBe("recomputed");
  // 30 characters of JSON: the others go to make room; larger than the budget is served, not kept.
  await cache.read("big", async () => "x".repeat(28));
  expect(cache.memory.bytes).toBeLessThanOrEqual(40);
  expect(await cache.read("huge", async () => "y".repeat(100))).toBe("y".repeat(100));
  expect(cache.memory.bytes).toBeLessThanOrEqual(40);
  expect(await cache.read("huge", async () => "again")).toBe("again");
});

it("serves from memory only until the entry's time is up", async () => {
  let now = 1_000;
  const cache = cacheOn(`read-cache:test:${randomUUID()}:`, { memoryTtlMs: 100, redisTtlSeconds: 0, now: () => now });
  await cache.read("k", async () => "first");
  now += 99;
  expect(await cache.read("k", async () => "second")).toBe("first");
  now += 1;
  expect(await cache.read("k", async () => "second")).toBe("second");
});

it("reads a batch in one computation of its misses, finding the rest in memory and in Redis", async () => {
  const prefix = `read-cache:test:${randomUUID()}:`;
  const one = cacheOn(prefix);
  const two = cacheOn(prefix);
  await one.read("count:a:1", async () => 10);
  await two.read("count:b:1", async () => 20);
  const asked: number[][] = [];
  const batch = (missing: number[]) => (asked.push(missing), Promise.resolve(missing.map((i) => 100 + i)));
  // a from Redis, b from memory, c and d computed together; c twice in the batch, computed once.
  expect(await two.readMany(["count:a:1", "count:b:1", "count:c:1", "count:d:1", "count:c:1"], batch)).toEqual([10, 20, 102, 103, 102]);
  expect(asked).toEqual([[2, 3]]);
  expect(two.stats).toMatchObject({ memoryHits: 1, redisHits: 1 });
  expect(await one.readMany(["count:c:1", "count:d:1"], batch)).toEqual([102, 103]);
  expect(asked).toHaveLength(1);
  await redis.del(...["a", "b", "c", "d"].map((k) => `${prefix}count:${k}:1`));
});

it("serves from memory and computes while Redis is away, instead of waiting for it", async () => {
  const away = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "read-model-cache-test-away");
  await away.ping();
  away.disconnect();
  const cache = createReadModelCache({ redis: away, prefix: `read-cache:test:${randomUUID()}:`, maxEntries: 10, maxBytes: 10_000, memoryTtlMs: 60_000, redisTtlSeconds: 60 });
  expect(await cache.read("k", async () => "computed")).toBe("computed");
  expect(await cache.readMany(["k", "l"], async (missing) => missing.map(() => "batch"))).toEqual(["computed", "batch"]);
  expect(cache.stats).toMatchObject({ computed: 2, memoryHits: 1, redisHits: 0 });
});
