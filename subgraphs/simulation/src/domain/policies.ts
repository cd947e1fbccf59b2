import { isId, type Policies } from "@startales/service-kit";
import type { SimulationContext } from "../context";
import { canReadCampaign, isGameMasterOrAdmin } from "./access";

type Input = { typeName: string; parent: unknown; args: Record<string, unknown>; context: SimulationContext };

/** The campaign a field is about: the parent on Campaign, `campaignId` on root fields. */
function subjectCampaignId({ typeName, parent, args }: Input): string | null {
  const id = typeName === "Campaign" ? (parent as { id?: unknown } | null)?.id : args.campaignId;
  return isId(id) ? id : null;
}

/**
 * The data-dependent rules that schema.graphql names with @policy. As in campaign and
 * realtime, a policy that cannot identify an existing campaign allows: there is nothing to
 * protect, and the resolver answers null, NOT_FOUND or BAD_USER_INPUT.
 */
export const simulationPolicies: Policies<SimulationContext> = {
  /** Members, admins and analysts (campaign decides who is a member). */
  campaign_reader: async (input) => {
    const id = subjectCampaignId(input);
    if (!id) return true;
    const access = await input.context.loaders.readAccess.load(id);
    return access.kind === "missing" || canReadCampaign(access);
  },
  /** The campaign's game master, or an admin. */
  campaign_game_master: async (input) => {
    const id = subjectCampaignId(input);
    if (!id) return true;
    const access = await input.context.loaders.campaignAccess.load(id);
    return access.kind === "missing" || isGameMasterOrAdmin(input.viewer, access);
  },
};
