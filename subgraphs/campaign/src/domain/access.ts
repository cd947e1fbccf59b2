import { Role, forbidden, hasRole, requireUser, type Viewer } from "@startales/service-kit";
import type { CampaignLoaders } from "../loaders";

/** Who may read a campaign: its members, admins and analysts (read-only). */
export async function canReadCampaign(viewer: Viewer, loaders: CampaignLoaders, campaignId: string): Promise<boolean> {
  if (viewer.kind !== "user") return false;
  if (hasRole(viewer, Role.ADMIN) || hasRole(viewer, Role.ANALYST)) return true;
  return (await loaders.viewerMembership.load(campaignId)) !== null;
}

export async function assertCanReadCampaign(viewer: Viewer, loaders: CampaignLoaders, campaignId: string): Promise<void> {
  requireUser(viewer); // anonymous callers are told to sign in, on every path
  if (!(await canReadCampaign(viewer, loaders, campaignId))) throw forbidden("Only members of this campaign can see it");
}

/** Who may run a campaign's lifecycle: its game master, or an admin. */
export async function isGameMasterOrAdmin(viewer: Viewer, loaders: CampaignLoaders, campaignId: string): Promise<boolean> {
  if (hasRole(viewer, Role.ADMIN)) return true;
  return (await loaders.viewerMembership.load(campaignId))?.role === "GAME_MASTER";
}
