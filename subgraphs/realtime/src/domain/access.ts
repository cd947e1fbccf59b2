import { Role, forbidden, hasRole, notFound, type CampaignAccess, type Viewer } from "@startales/service-kit";
import type { Channel } from "../generated/prisma/client";
import type { RealtimeLoaders } from "../loaders";

/** Admins and analysts may read every campaign's chat and presence (analysts read-only). */
export const isReaderRole = (viewer: Viewer) => hasRole(viewer, Role.ADMIN) || hasRole(viewer, Role.ANALYST);

/** Members of the campaign, admins and analysts. Campaign itself answers for its members. */
export const canReadCampaign = (access: CampaignAccess) => access.kind === "member" || access.kind === "reader";

/** Whether the viewer may read a channel: members of its campaign (and of the channel, unless CAMPAIGN), admins, analysts. */
export async function canReadChannel(viewer: Viewer, loaders: RealtimeLoaders, channel: Channel): Promise<boolean> {
  if (viewer.kind !== "user") return false;
  const access = await loaders.campaignAccess.load(channel.campaignId);
  if (access.kind === "reader") return true;
  if (access.kind !== "member") return false;
  if (isReaderRole(viewer)) return true;
  return channel.kind === "CAMPAIGN" || channel.memberIds.includes(viewer.userId);
}

/**
 * Whether the viewer may post in a channel: a member of its campaign and, for ALLIANCE and
 * DIRECT channels, of the channel. Admins who are not members moderate, they do not post.
 */
export async function assertCanPost(viewer: Viewer, loaders: RealtimeLoaders, channel: Channel): Promise<Extract<CampaignAccess, { kind: "member" }>> {
  const access = await loaders.campaignAccessForWrite.load(channel.campaignId);
  if (access.kind === "missing") throw notFound("This channel's campaign no longer exists");
  if (access.kind !== "member") throw forbidden("Only members of this campaign can post here");
  if (viewer.kind !== "user" || (channel.kind !== "CAMPAIGN" && !channel.memberIds.includes(viewer.userId))) {
    throw forbidden("Only members of this channel can post here");
  }
  return access;
}

/** The caller must belong to the campaign (writes); NOT_FOUND when there is no such campaign. */
export async function assertMember(loaders: RealtimeLoaders, campaignId: string): Promise<Extract<CampaignAccess, { kind: "member" }>> {
  const access = await loaders.campaignAccessForWrite.load(campaignId);
  if (access.kind === "missing") throw notFound("No campaign with this id");
  if (access.kind !== "member") throw forbidden("Only members of this campaign can do this");
  return access;
}
