import { Topics, newestStreamId, readCampaignFeedEvent, type CampaignFeedEvent, type Redis } from "@startales/service-kit";

/** A campaign event as `CampaignEvent` serves it: read back from the campaign's stream. */
export type CampaignEventModel = CampaignFeedEvent;

/** The event `id` of the campaign's feed, or null once the stream no longer keeps it. */
export const readCampaignEvent = (redis: Redis, campaignId: string, id: string): Promise<CampaignEventModel | null> => readCampaignFeedEvent(redis, campaignId, id);

/** The newest event of the campaign's feed: where a client that just read the campaign resumes from. */
export const latestCampaignEventId = (redis: Redis, campaignId: string): Promise<string | null> => newestStreamId(redis, Topics.campaign(campaignId));
