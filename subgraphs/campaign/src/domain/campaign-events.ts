import { Topics, badInput, isStreamId, newestStreamId, readStreamEvent, type Redis } from "@startales/service-kit";

/** A campaign event as `CampaignEvent` serves it: read back from the campaign's stream. */
export type CampaignEventModel = {
  id: string;
  campaignId: string;
  type: string;
  tick: number | null;
  occurredAt: string;
  data: unknown;
};

/**
 * The event `id` of the campaign's feed, or null once the stream no longer keeps it. The
 * stream is the feed: there is no table to query, and an event of another campaign cannot
 * be reached through this campaign's id because every campaign has its own stream.
 */
export async function readCampaignEvent(redis: Redis, campaignId: string, id: string): Promise<CampaignEventModel | null> {
  if (!isStreamId(id)) throw badInput("id is not a campaign event id", [{ field: "id", message: "expected an id like 1700000000000-0" }]);
  const event = await readStreamEvent(redis, Topics.campaign(campaignId), id);
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

/** The newest event of the campaign's feed: where a client that just read the campaign resumes from. */
export const latestCampaignEventId = (redis: Redis, campaignId: string): Promise<string | null> => newestStreamId(redis, Topics.campaign(campaignId));
