import type { Redis } from "ioredis";
import { badInput } from "./errors";
import { isStreamId, readTimelineEvent } from "./event-stream";
import { Topics, timelineTopics } from "./topics";

/** An event of a campaign's feed as the `CampaignEvent` type serves it, whichever subgraph resolves it. */
export type CampaignFeedEvent = {
  id: string;
  campaignId: string;
  type: string;
  tick: number | null;
  occurredAt: string;
  data: unknown;
};

/**
 * The event `id` of the campaign's feed, or null once the streams no longer keep it. The
 * feed is the campaign's timeline: campaign's `campaign:<id>` and simulation's `world:<id>`
 * streams, with one clock. There is no table to query, and an event of another campaign
 * cannot be reached through this campaign's id because every campaign has its own streams.
 * Campaign and simulation both resolve `CampaignEvent`s (each the events it wrote), from this one reading.
 */
export async function readCampaignFeedEvent(redis: Redis, campaignId: string, id: string): Promise<CampaignFeedEvent | null> {
  if (!isStreamId(id)) throw badInput("id is not a campaign event id", [{ field: "id", message: "expected an id like 1700000000000-0" }]);
  const event = await readTimelineEvent(redis, timelineTopics(Topics.campaign(campaignId)), id);
  if (!event) return null;
  const data = event.data as { tick?: unknown } | null;
  return {
    id: event.streamId,
    campaignId,
    type: event.type,
    tick: typeof data?.tick === "number" && Number.isInteger(data.tick) ? data.tick : null,
    occurredAt: event.occurredAt,
    data: event.data,
  };
}
