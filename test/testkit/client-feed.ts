import { CampaignEventsDocument, CampaignOverviewDocument, CreateCampaignDocument, type CampaignEventsSubscription, type StartalesClient } from "@startales/client";
import { eventually } from "./simulation";

export type CampaignFeed = {
  campaignId: string;
  /** The events received, in the order they arrived. */
  received: CampaignEventsSubscription["campaignEvents"][];
  /** What the subscription's error callback got (nothing, if all went well). */
  failures: unknown[];
  stop(): void;
};

/**
 * A campaign created by `client`'s signed-in user, whose feed it follows from now on
 * (`after` its latestEventId) with the client's resume: the way a game screen subscribes.
 */
export async function followNewCampaign(client: StartalesClient, name: string): Promise<CampaignFeed> {
  const { createCampaign } = await client.request(CreateCampaignDocument, { input: { name } });
  // Until CAMPAIGN_CREATED is published the feed has no position (latestEventId is null), and
  // a subscription from "now" would miss what the relay publishes before it is registered: on
  // a busy machine, the very join the caller waits for.
  const campaign = await eventually("the campaign's first event on its feed", async () => {
    const { campaign: read } = await client.request(CampaignOverviewDocument, { id: createCampaign.id });
    return read?.latestEventId ? read : undefined;
  });
  const received: CampaignFeed["received"] = [];
  const failures: unknown[] = [];
  const stop = client.subscribe(
    CampaignEventsDocument,
    { campaignId: createCampaign.id, after: campaign.latestEventId },
    { next: (data) => void received.push(data.campaignEvents), error: (error) => void failures.push(error) },
    { resumeFrom: (data) => data.campaignEvents.id },
  );
  return { campaignId: createCampaign.id, received, failures, stop };
}
