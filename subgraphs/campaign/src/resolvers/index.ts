import {
  DateTimeScalar,
  JSONScalar,
  auditLogArgs,
  cacheHint,
  dependsOnViewer,
  parseId,
  parseInput,
  requireUser,
  type CampaignVersions,
  type Redis,
} from "@startales/service-kit";
import type { Db } from "../db";
import { latestCampaignEventId, readCampaignEvent } from "../domain/campaign-events";
import { assertCanReadCampaign, isGameMasterOrAdmin } from "../domain/access";
import { listAudit } from "../domain/audit";
import type { CampaignService } from "../domain/campaign-service";
import { createCampaignInput, pageArgs } from "../domain/input";
import type { LifecycleAction } from "../domain/lifecycle";
import type { CampaignContext } from "../context";
import type { AuditOutcome as GraphQLAuditOutcome, Resolvers } from "../generated/resolvers-types";

/** An event, or who created a campaign: never changes. */
const EVENT_MAX_AGE_S = 300;
/** A campaign's status and members change: what a reader has is trusted this long. */
const CAMPAIGN_MAX_AGE_S = 1;

export function createResolvers(deps: { db: Db; redis: Redis; campaigns: CampaignService; versions: Pick<CampaignVersions, "membership" | "world"> }): Resolvers {
  const { db, redis, campaigns, versions } = deps;

  const lifecycle =
    (action: LifecycleAction) =>
    (_parent: unknown, args: { id: string }, context: CampaignContext) =>
      campaigns.changeStatus(context.loaders, parseId(args.id), action, context);

  return {
    DateTime: DateTimeScalar,
    JSON: JSONScalar,
    Query: {
      // Admins only (@requiresScopes in the schema).
      campaignAuditLog: (_parent, args) =>
        listAudit(db, { ...parseInput(auditLogArgs, args), campaignId: args.campaignId ? parseId(args.campaignId, "campaignId") : null }),
      // Who may read it is declared in the schema (@policy campaign_reader).
      // Every change of a campaign (its lifecycle, its members) is an event on its feed, written
      // with the change: noted before the row is read, its version names the answer, which the
      // gateway may keep until the next event (service-kit answer-versions.ts). latestEventId
      // also reads the world's feed, and notes its version too.
      campaign: async (_parent, args, { loaders, answer }, info) => {
        const id = parseId(args.id);
        answer.vouch(info);
        answer.read("campaign", id, await versions.membership(id));
        return loaders.campaignById.load(id);
      },
      // Members only (@policy campaign_reader on campaignId); what `campaignEvents` delivers.
      // An event never changes, and reads the same to every member (service-kit cache-hints.ts).
      campaignEvent: (_parent, args, _context, info) => {
        cacheHint(info, { maxAge: EVENT_MAX_AGE_S });
        return readCampaignEvent(redis, parseId(args.campaignId, "campaignId"), args.id);
      },
      myCampaigns: async (_parent, args, { viewer, loaders }) => {
        const user = requireUser(viewer);
        const page = parseInput(pageArgs, args);
        const campaigns = await db.campaign.findMany({
          where: { memberships: { some: { userId: user.userId } } },
          orderBy: [{ createdAt: "desc" }, { id: "asc" }],
          take: page.first,
          ...(page.after ? { cursor: { id: page.after }, skip: 1 } : {}),
        });
        // Their versions key what the list's fields read from the cache (loaders.ts): no second read of the rows.
        for (const campaign of campaigns) loaders.campaignById.prime(campaign.id, campaign);
        return campaigns;
      },
    },
    Mutation: {
      createCampaign: (_parent, args, context) =>
        campaigns.create(requireUser(context.viewer), parseInput(createCampaignInput, args.input), context),
      joinCampaign: (_parent, args, { viewer }) => campaigns.join(requireUser(viewer), parseId(args.campaignId, "campaignId")),
      leaveCampaign: (_parent, args, { viewer }) => campaigns.leave(requireUser(viewer), parseId(args.campaignId, "campaignId")),
      startCampaign: lifecycle("start"),
      pauseCampaign: lifecycle("pause"),
      resumeCampaign: lifecycle("resume"),
      endCampaign: lifecycle("end"),
    },
    Campaign: {
      // Reached through another subgraph's reference: the same members-only rule applies.
      __resolveReference: async (reference, { viewer, loaders }, info) => {
        // What members see of a campaign is the same for each of them; its status changes, so briefly.
        cacheHint(info, { maxAge: CAMPAIGN_MAX_AGE_S });
        // Checked before the batched load: a malformed id sent to the database would fail
        // every reference in the batch with an internal error, not just this one.
        const campaign = await loaders.campaignById.load(parseId(reference.id));
        if (!campaign) return null;
        await assertCanReadCampaign(viewer, loaders, campaign.id);
        return campaign;
      },
      seed: async (campaign, _args, { viewer, loaders }, info) => {
        dependsOnViewer(info);
        return (await isGameMasterOrAdmin(viewer, loaders, campaign.id)) ? campaign.seed : null;
      },
      gameMaster: (campaign, _args, _context, info) => {
        cacheHint(info, { maxAge: EVENT_MAX_AGE_S });
        return { __typename: "User" as const, id: campaign.createdById };
      },
      members: (campaign, _args, { loaders }) => loaders.membersByCampaign.load(campaign.id),
      memberCount: (campaign, _args, { loaders }) => loaders.memberCountByCampaign.load(campaign.id),
      latestEventId: async (campaign, _args, { answer }) => {
        answer.read("world", campaign.id, await versions.world(campaign.id));
        return latestCampaignEventId(redis, campaign.id);
      },
      myMembership: (campaign, _args, { loaders }, info) => {
        dependsOnViewer(info);
        return loaders.viewerMembership.load(campaign.id);
      },
    },
    CampaignEvent: {
      campaign: async (event, _args, { loaders }, info) => {
        cacheHint(info, { maxAge: CAMPAIGN_MAX_AGE_S });
        const campaign = await loaders.campaignById.load(event.campaignId);
        if (!campaign) throw new Error(`campaign ${event.campaignId} of event ${event.id} is gone`);
        return campaign;
      },
    },
    AuditEntry: {
      actor: (entry) => (entry.actorId ? { __typename: "User" as const, id: entry.actorId } : null),
      // Stored as the enum's value ("SUCCESS", "FAILURE"), written only through auditEntry().
      outcome: (entry) => entry.outcome as GraphQLAuditOutcome,
    },
    Membership: {
      campaign: async (membership, _args, { loaders }) => {
        const campaign = await loaders.campaignById.load(membership.campaignId);
        if (!campaign) throw new Error(`membership ${membership.id} has no campaign`);
        return campaign;
      },
      user: (membership) => ({ __typename: "User" as const, id: membership.userId }),
    },
  };
}
