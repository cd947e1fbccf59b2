import { CampaignEventsDocument, CampaignOverviewDocument, CreateCampaignDocument, type CampaignEventsSubscription, type StartalesClient } from "@startales/client";

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
  const { campaign } = await client.request(CampaignOverviewDocument, { id: createCampaign.id });
  const received: CampaignFeed["received"] = [];
  const failures: unknown[] = [];
  const stop = client.subscribe(
    CampaignEventsDocument,
    { campaignId: createCampaign.id, after: campaign!.latestEventId },
    { next: (data) => void received.push(data.campaignEvents), error: (error) => void failures.push(error) },
    { resumeFrom: (data) => data.campaignEvents.id },
  );
  return { campaignId: createCampaign.id, received, failures, stop };
}
