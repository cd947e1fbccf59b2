import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { Topics, createLogger, createStreamConsumer, publishEnvelope, streamKey, type ConsumedEvent, type EventStreamConsumer } from "@startales/service-kit";
import { eventually } from "../testkit/simulation";

const until = (check: () => Promise<boolean>, what: string, timeoutMs?: number) => eventually(what, async () => ((await check()) ? true : undefined), timeoutMs);

/**
 * The service kit's stream consumer against real Redis: applied then acknowledged, an event
 * that breaks its contract dead-lettered at once, a dead consumer's entries claimed, one that
 * keeps failing dead-lettered after its deliveries — never dropped.
 */

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const consumers: EventStreamConsumer[] = [];
afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  redis.disconnect();
});

const logger = createLogger("stream-consumer-test", "silent");
const topic = () => `${Topics.notifications}:test:${randomUUID()}`;
const request = (topicName: string, data: Record<string, unknown>) => ({
  id: randomUUID(),
  type: "NOTIFICATION_REQUESTED",
  topic: topicName,
  occurredAt: new Date().toISOString(),
  aggregateId: randomUUID(),
  version: 1,
  data,
  traceparent: null,
});
const sound = (topicName: string) => request(topicName, { template: "CAMPAIGN_STARTED", recipientIds: [randomUUID()], campaignId: null, params: {} });

function consume(topicName: string, apply: (event: ConsumedEvent) => Promise<"applied">, options: { claimIdleMs?: number; maxDeliveries?: number } = {}) {
  const outcomes: string[] = [];
  const consumer = createStreamConsumer({
    redis,
    topic: topicName,
    group: "test",
    logger,
    blockMs: 50,
    claimIdleMs: options.claimIdleMs ?? 60_000,
    maxDeliveries: options.maxDeliveries ?? 3,
    trimAcknowledged: true,
    apply,
    onOutcome: (outcome) => outcomes.push(outcome),
  });
  consumers.push(consumer);
  consumer.start();
  return outcomes;
}

const deadLetters = async (topicName: string) => (await redis.xrange(`${streamKey(topicName)}:dead-letter`, "-", "+")).map(([, fields]) => Object.fromEntries(fields.reduce<string[][]>((pairs, v, i) => (i % 2 ? pairs : [...pairs, [v, fields[i + 1]!]]), [])));

it("applies and acknowledges events; one that breaks its contract goes to the dead-letter stream at once, and the next is applied", async () => {
  const name = topic();
  const applied: string[] = [];
  const broken = request(name, { template: "CAMPAIGN_STARTED", recipientIds: ["bob"], campaignId: null, params: {} });
  const good = sound(name);
  await publishEnvelope(redis, broken, { streamMaxLen: 0 });
  await publishEnvelope(redis, good, { streamMaxLen: 0 });
  const outcomes = consume(name, async (event) => (applied.push(event.id), "applied"));
  await until(async () => outcomes.length === 2, "both entries handled");
  expect(outcomes).toEqual(["invalid", "applied"]);
  expect(applied).toEqual([good.id]);
  const [letter] = await deadLetters(name);
  expect(JSON.parse(letter!.envelope!).id).toBe(broken.id);
  expect(letter!.contractError).toMatch(/recipientIds/);
  // Acknowledged entries are trimmed by the group (up to the last delivered one, its position).
  expect(((await redis.xpending(streamKey(name), "test")) as [number])[0]).toBe(0);
  await until(async () => (await redis.xlen(streamKey(name))) === 1, "the acknowledged entries trimmed");
});

it("claims what a dead consumer took, and dead-letters an event that keeps failing after its deliveries", async () => {
  const name = topic();
  const taken = sound(name);
  const poison = sound(name);
  await publishEnvelope(redis, taken, { streamMaxLen: 0 });
  await publishEnvelope(redis, poison, { streamMaxLen: 0 });
  // A consumer that read both and died without acknowledging.
  await redis.xgroup("CREATE", streamKey(name), "test", "0", "MKSTREAM");
  await redis.xreadgroup("GROUP", "test", "dead-consumer", "COUNT", 10, "STREAMS", streamKey(name), ">");
  const applied: string[] = [];
  const outcomes = consume(
    name,
    async (event) => {
      if (event.id === poison.id) throw new Error("cannot apply this one");
      applied.push(event.id);
      return "applied";
    },
    { claimIdleMs: 100, maxDeliveries: 2 },
  );
  await until(async () => outcomes.includes("dead-lettered"), "the poison dead-lettered", 15_000);
  expect(applied).toEqual([taken.id]);
  const [letter] = await deadLetters(name);
  expect(JSON.parse(letter!.envelope!).id).toBe(poison.id);
  expect(Number(letter!.failedDeliveries)).toBeGreaterThan(2);
  expect(((await redis.xpending(streamKey(name), "test")) as [number])[0]).toBe(0);
});

it("applies a read's events as one batch in stream order and acknowledges them together; when a batch fails, one by one, so only the event that fails stays pending", async () => {
  const name = topic();
  const [first, poison, last] = [sound(name), sound(name), sound(name)];
  const broken = request(name, { template: "NOT_A_TEMPLATE", recipientIds: [randomUUID()], campaignId: null, params: {} });
  const good = [sound(name), sound(name)];
  for (const event of [first, broken, poison, last]) await publishEnvelope(redis, event, { streamMaxLen: 0 });
  const batches: string[][] = [];
  const outcomes: string[] = [];
  const consumer = createStreamConsumer({
    redis,
    topic: name,
    group: "test",
    logger,
    blockMs: 50,
    claimIdleMs: 200,
    maxDeliveries: 2,
    trimAcknowledged: true,
    async applyBatch(batch) {
      batches.push(batch.map((event) => event.id));
      if (batch.some((event) => event.id === poison.id)) throw new Error("cannot apply this one");
      return batch.map(() => "applied" as const);
    },
    onOutcome: (outcome) => outcomes.push(outcome),
  });
  consumers.push(consumer);
  consumer.start();
  await until(async () => outcomes.includes("dead-lettered"), "the poison dead-lettered", 15_000);
  // In one transaction, so the blocked read wakes to both.
  const both = redis.multi();
  for (const event of good) void publishEnvelope(both as unknown as Redis, event, { streamMaxLen: 0 });
  await both.exec();
  await until(async () => outcomes.filter((o) => o === "applied").length === 4, "the later events applied together", 15_000);
  // The first read: the broken one dead-lettered, then the three as one batch, which failed; then one by one.
  expect(batches.slice(0, 4)).toEqual([[first.id, poison.id, last.id], [first.id], [poison.id], [last.id]]);
  expect(batches.at(-1)).toEqual(good.map((event) => event.id));
  expect(batches.filter((batch) => batch.includes(first.id) || batch.includes(last.id))).toHaveLength(3);
  expect(outcomes.slice(0, 4)).toEqual(["invalid", "applied", "failed", "applied"]);
  expect((await deadLetters(name)).map((letter) => JSON.parse(letter.envelope!).id)).toEqual([broken.id, poison.id]);
  expect(((await redis.xpending(streamKey(name), "test")) as [number])[0]).toBe(0);
});

it("with several groups on one stream, makes them all and trims only what every one of them has acknowledged", async () => {
  const name = topic();
  const groupsOnStream = ["first", "second"];
  const reader = (group: string, applied: string[]) =>
    createStreamConsumer({
      redis,
      topic: name,
      group,
      groupsOnStream,
      logger,
      blockMs: 50,
      claimIdleMs: 60_000,
      maxDeliveries: 3,
      trimAcknowledged: true,
      apply: async (event) => (applied.push(event.id), "applied"),
    });
  const first: string[] = [];
  const second: string[] = [];
  const one = reader("first", first);
  consumers.push(one);
  one.start();
  const events = [sound(name), sound(name), sound(name)];
  for (const event of events) await publishEnvelope(redis, event, { streamMaxLen: 0 });
  await until(async () => first.length === 3, "the first group's reads");
  // The second group was made by the first reader, from the stream's start, and has read
  // nothing yet: nothing may be trimmed, however often the first group trims.
  const groups = ((await redis.xinfo("GROUPS", streamKey(name))) as unknown[][]).map((info) => info[1]);
  expect(groups.sort()).toEqual(["first", "second"]);
  await publishEnvelope(redis, sound(name), { streamMaxLen: 0 });
  await until(async () => first.length === 4, "the first group's fourth read (and trim)");
  expect(await redis.xlen(streamKey(name))).toBe(4);
  // The second reader starts late and still gets every event; then both trim.
  const two = reader("second", second);
  consumers.push(two);
  two.start();
  await until(async () => second.length === 4, "the second group's reads");
  expect(second).toEqual(first);
  await publishEnvelope(redis, sound(name), { streamMaxLen: 0 });
  await until(async () => first.length === 5 && second.length === 5, "both groups' fifth read");
  await until(async () => (await redis.xlen(streamKey(name))) === 1, "what both acknowledged trimmed");
});
