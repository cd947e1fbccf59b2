import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import {
  Topics,
  compareStreamIds,
  newestTimelineId,
  publishOutboxEnvelope,
  readTimelineEventsAfter,
  timelineTrimmedAfter,
  type EventEnvelope,
} from "@startales/service-kit";

/**
 * A campaign's feed is a timeline of two topics with two writers (campaign:<id>, world:<id>)
 * and one clock, against real Redis: ids never repeat across the two streams, they grow in
 * publication order, and a reader merging them by id pages through without passing one over.
 */

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
afterAll(() => redis.quit());

const envelope = (topic: string, version: number): EventEnvelope => ({
  id: randomUUID(),
  type: "TEST",
  topic,
  occurredAt: new Date().toISOString(),
  aggregateId: randomUUID(),
  version,
  data: { version },
  traceparent: null,
});

it("gives the two topics of a timeline one clock: unique ids in publication order, merged without gaps", async () => {
  const campaignId = randomUUID();
  const topics = [Topics.campaign(campaignId), Topics.world(campaignId)];
  // Two writers at once, many events in the same millisecond: the case where separate clocks collide.
  const published: { topic: string; streamId: string }[] = [];
  await Promise.all(
    topics.map(async (topic) => {
      for (let i = 0; i < 300; i++) {
        const { streamId } = await publishOutboxEnvelope(redis, envelope(topic, i), { streamMaxLen: 10_000 });
        published.push({ topic, streamId: streamId! });
      }
    }),
  );
  const ids = published.map((p) => p.streamId);
  expect(new Set(ids).size).toBe(600);
  // The order the script ran in (the order of `published`: each await resolves in reply order) is the id order.
  expect([...ids].sort(compareStreamIds)).toEqual(ids);

  // Paging through the merged streams in small batches sees every event once, in id order.
  const seen: string[] = [];
  let cursor = "0-0";
  for (;;) {
    const batch = await readTimelineEventsAfter(redis, topics, cursor, 7);
    if (batch.length === 0) break;
    seen.push(...batch.map((e) => e.streamId));
    cursor = batch.at(-1)!.streamId;
  }
  expect(seen).toEqual(ids);
  expect(await newestTimelineId(redis, topics)).toBe(ids.at(-1));
  await redis.del(...topics.map((topic) => `events:${topic}`));
});

it("says when events after a resume point are no longer kept in any topic of the timeline", async () => {
  const campaignId = randomUUID();
  const topics = [Topics.campaign(campaignId), Topics.world(campaignId)];
  const first = await publishOutboxEnvelope(redis, envelope(topics[0]!, 1), { streamMaxLen: 10_000 });
  for (let i = 0; i < 5; i++) await publishOutboxEnvelope(redis, envelope(topics[1]!, i), { streamMaxLen: 10_000 });
  expect(await timelineTrimmedAfter(redis, topics, first.streamId!)).toBe(false);
  // The world stream loses its oldest entries (as MAXLEN trimming does): events after `first` are gone.
  await redis.xtrim(`events:${topics[1]}`, "MAXLEN", 2);
  expect(await timelineTrimmedAfter(redis, topics, first.streamId!)).toBe(true);
  await redis.del(...topics.map((topic) => `events:${topic}`));
});
