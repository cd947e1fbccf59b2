import { Role, conflict, forbidden, hasRole, notFound, type CampaignAccess, type Viewer } from "@startales/service-kit";
import type { SimulationLoaders } from "../loaders";

/** Members of the campaign, admins and analysts. Campaign itself answers for its members. */
export const canReadCampaign = (access: CampaignAccess) => access.kind === "member" || access.kind === "reader";

/** The campaign's game master, or an admin. */
export const isGameMasterOrAdmin = (viewer: Viewer, access: CampaignAccess) =>
  (access.kind === "member" && access.role === "GAME_MASTER") || (hasRole(viewer, Role.ADMIN) && canReadCampaign(access));

/** Only members act for a civilization (their own); NOT_FOUND when there is no such campaign, CONFLICT once it has ended. */
export async function assertMemberOfLiveCampaign(loaders: SimulationLoaders, campaignId: string) {
  const access = await loaders.campaignAccess.load(campaignId);
  if (access.kind === "missing") throw notFound("No campaign with this id");
  if (access.kind !== "member") throw forbidden("Only members of this campaign can send commands");
  if (access.status === "ENDED") throw conflict("This campaign has ended", { status: access.status });
  return access;
}
