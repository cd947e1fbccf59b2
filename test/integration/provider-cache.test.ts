import { randomUUID } from "node:crypto";
import { createRedis, type Redis } from "@startales/service-kit";
import { createResponseCache } from "../../subgraphs/provider/src/cache/response-cache";

/** The response cache's two layers against the run's Redis: what one worker caches, another finds. */
let redis: Redis;
beforeAll(() => {
  redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "provider-cache-test");
});
afterAll(() => redis.disconnect());

const ttlSeconds = { TEXT: 60, SPEECH: 60, IMAGE: 60, TRANSCRIPTION: 1 };
const result = { text: "The gate is dark.", contentSha: null, contentType: null, deployment: "vendor-a", model: "m" };

it("a result cached by one worker is found in Redis by another, then in its memory; entries expire per kind", async () => {
  const prefix = `provider:test:${randomUUID()}:`;
  const one = createResponseCache(redis, { prefix, entries: 10, ttlSeconds });
  const two = createResponseCache(redis, { prefix, entries: 10, ttlSeconds });
  expect(await two.get("TEXT", "h1")).toBeNull();
  await one.set("TEXT", "h1", result);
  expect(await one.get("TEXT", "h1")).toEqual({ result, layer: "memory" });
  expect(await two.get("TEXT", "h1")).toEqual({ result, layer: "redis" });
  expect(await two.get("TEXT", "h1")).toEqual({ result, layer: "memory" });
  expect(await redis.ttl(`${prefix}cache:h1`)).toBeGreaterThan(50);
  await one.set("TRANSCRIPTION", "h2", result);
  expect(await redis.pttl(`${prefix}cache:h2`)).toBeLessThanOrEqual(1_000);
  await redis.del(`${prefix}cache:h1`, `${prefix}cache:h2`);
});
