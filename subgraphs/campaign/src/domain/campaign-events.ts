import { Topics, newestTimelineId, readCampaignFeedEvent, timelineTopics, type CampaignFeedEvent, type Redis } from "@startales/service-kit";

/** A campaign event as `CampaignEvent` serves it: read back from the campaign's stream. */
export type CampaignEventModel = CampaignFeedEvent;

/** The event `id` of the campaign's feed, or null once the stream no longer keeps it. */
export const readCampaignEvent = (redis: Redis, campaignId: string, id: string): Promise<CampaignEventModel | null> => readCampaignFeedEvent(redis, campaignId, id);

/** The newest event of the campaign's feed (its timeline: campaign's and simulation's topics): where a client that just read the campaign resumes from. */
export const latestCampaignEventId = (redis: Redis, campaignId: string): Promise<string | null> => newestTimelineId(redis, timelineTopics(Topics.campaign(campaignId)));
