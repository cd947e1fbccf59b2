import { randomUUID } from "node:crypto";
import { NO_EVENTS, createCampaignVersions, createRedis, streamKey, Topics, type Redis } from "@startales/service-kit";
import { captureLogs } from "../testkit/logs";
import { eventually } from "../testkit/simulation";

/**
 * How a simulation replica learns a campaign's versions (service-kit campaign-versions.ts), on
 * the run's Redis: from the streams' last ids at first, then from the relay's publications.
 */
let redis: Redis;
beforeAll(async () => {
  redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "read-model-cache-versions-test");
  // Connected first: a cache treats Redis that is not ready as away.
  await redis.ping();
});
afterAll(() => redis.disconnect());

/** What the outbox relay does for an event: append it to the stream, then publish it with its stream id. */
async function publish(topic: string, type: string): Promise<string> {
  const envelope = JSON.stringify({ id: randomUUID(), topic, type, data: {} });
  const streamId = (await redis.xadd(streamKey(topic), "*", "envelope", envelope))!;
  await redis.publish(streamKey(topic), `{"streamId":"${streamId}",${envelope.slice(1)}`);
  return streamId;
}

it("reads the streams' last ids, then follows publications on both streams, never going back", async () => {
  const campaignId = randomUUID();
  const versions = createCampaignVersions(redis, { logger: captureLogs("read-cache", "warn").logger, ttlMs: 60_000, maxEntries: 100, connectionName: "test-read-versions", follows: ["world", "campaign"] });
  try {
    // Before subscribing: asked of Redis every time, so always current.
    expect(await versions.world(campaignId)).toBe(NO_EVENTS);
    const created = await publish(Topics.world(campaignId), "WORLD_CREATED");
    expect(await versions.world(campaignId)).toBe(created);
    await versions.start();
    const joined = await publish(Topics.campaign(campaignId), "PLAYER_JOINED");
    expect(await versions.membership(campaignId)).toBe(joined);
    // Known now: a publication alone (no stream entry) moves it, which shows it is followed, not re-read.
    const announced = `${Date.now() + 60_000}-0`;
    await redis.publish(streamKey(Topics.world(campaignId)), `{"streamId":"${announced}","type":"TICK_COMPLETED"}`);
    await eventually("the published version", async () => ((await versions.world(campaignId)) === announced ? true : undefined));
    // An older id (a late or repeated publication) does not undo a newer one. Publications
    // reach the subscriber in order: once the later one is seen, the older one was handled.
    await redis.publish(streamKey(Topics.world(campaignId)), `{"streamId":"${created}","type":"TICK_COMPLETED"}`);
    const kicked = `${Date.now() + 120_000}-0`;
    await redis.publish(streamKey(Topics.campaign(campaignId)), `{"streamId":"${kicked}","type":"PLAYER_KICKED"}`);
    await eventually("the later publication", async () => ((await versions.membership(campaignId)) === kicked ? true : undefined));
    expect(await versions.world(campaignId)).toBe(announced);
  } finally {
    versions.stop();
    await redis.del(streamKey(Topics.world(campaignId)), streamKey(Topics.campaign(campaignId)));
  }
});

it("keeps only the feeds it follows: a world not followed is read from its stream every time, its publications unheard", async () => {
  const campaignId = randomUUID();
  const versions = createCampaignVersions(redis, { logger: captureLogs("read-cache", "warn").logger, ttlMs: 60_000, maxEntries: 100, connectionName: "test-read-versions", follows: ["campaign"] });
  try {
    await versions.start();
    const created = await publish(Topics.world(campaignId), "WORLD_CREATED");
    expect(await versions.world(campaignId)).toBe(created);
    // A publication without a stream entry moves only what is followed: the world stays at its stream's last id.
    const joined = await publish(Topics.campaign(campaignId), "PLAYER_JOINED");
    await eventually("the campaign's publication", async () => ((await versions.membership(campaignId)) === joined ? true : undefined));
    const kicked = `${Date.now() + 120_000}-0`;
    // The world's first: publications arrive in order, so once the campaign's is seen the world's was handled.
    await redis.publish(streamKey(Topics.world(campaignId)), `{"streamId":"${kicked}","type":"TICK_COMPLETED"}`);
    await redis.publish(streamKey(Topics.campaign(campaignId)), `{"streamId":"${kicked}","type":"PLAYER_KICKED"}`);
    await eventually("the followed publication", async () => ((await versions.membership(campaignId)) === kicked ? true : undefined));
    expect(await versions.world(campaignId)).toBe(created);
    // And a new entry on the unfollowed stream is seen at the next read, with no publication at all.
    const ticked = (await redis.xadd(streamKey(Topics.world(campaignId)), "*", "envelope", "{}"))!;
    expect(await versions.world(campaignId)).toBe(ticked);
  } finally {
    versions.stop();
    await redis.del(streamKey(Topics.world(campaignId)), streamKey(Topics.campaign(campaignId)));
  }
});
