import { isId, type Policies } from "@startales/service-kit";
import type { CampaignContext } from "../context";
import type { Campaign } from "../generated/prisma/client";
import { canReadCampaign, isGameMasterOrAdmin } from "./access";

/**
 * The data-dependent rules that schema.graphql names with @policy. A policy that cannot
 * identify an existing campaign allows: there is nothing to protect, and the resolver then
 * answers null, NOT_FOUND or BAD_USER_INPUT as it should.
 */
async function subjectCampaign(input: { typeName: string; parent: unknown; args: Record<string, unknown>; context: CampaignContext }) {
  // On the Campaign type the parent is the campaign row itself; on root fields it is named
  // by `campaignId` where the field has one (`campaignEvent(campaignId, id)`: `id` is the
  // event's), else by `id`.
  if (input.typeName === "Campaign") return input.parent as Campaign | null;
  const id = "campaignId" in input.args ? input.args.campaignId : input.args.id;
  return isId(id) ? input.context.loaders.campaignById.load(id) : null;
}

export const campaignPolicies: Policies<CampaignContext> = {
  /** Members, admins and analysts may read a campaign. */
  campaign_reader: async (input) => {
    const campaign = await subjectCampaign(input);
    return !campaign || canReadCampaign(input.viewer, input.context.loaders, campaign.id);
  },
  /** Only its game master (or an admin) runs a campaign's lifecycle. */
  campaign_game_master: async (input) => {
    const campaign = await subjectCampaign(input);
    return !campaign || isGameMasterOrAdmin(input.viewer, input.context.loaders, campaign.id);
  },
};
