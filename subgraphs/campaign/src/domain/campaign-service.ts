import {
  AuditOutcome,
  CAMPAIGN_LIFECYCLE_CHANGED,
  NOTIFICATION_REQUESTED,
  Topics,
  activeTraceparent,
  conflict,
  eventData,
  notFound,
  type AuditContext,
  type EventData,
  type EventType,
  type NotificationRequest,
  type NotificationTemplate,
  type SignedInViewer,
} from "@startales/service-kit";
import type { Db } from "../db";
import type { Campaign, Membership, Prisma } from "../generated/prisma/client";
import type { CampaignLoaders } from "../loaders";
import { recordAudit } from "./audit";
import type { CreateCampaignInput } from "./input";
import { TRANSITIONS, transition, type LifecycleAction } from "./lifecycle";

type Tx = Prisma.TransactionClient;

type LifecycleEventType = "PLAYER_JOINED" | "PLAYER_LEFT" | "CAMPAIGN_STARTED" | "CAMPAIGN_PAUSED" | "CAMPAIGN_RESUMED" | "CAMPAIGN_ENDED";
type CampaignEventType = "CAMPAIGN_CREATED" | LifecycleEventType;

/**
 * Writes one event of the campaign to `topic` in the caller's transaction (transactional
 * outbox), with the request's trace context. Its data is checked against the event's contract
 * first: an event that breaks it fails the change instead of reaching consumers.
 */
async function appendEvent<T extends EventType>(tx: Tx, topic: string, campaign: Campaign, type: T, data: EventData<T>) {
  const checked = eventData(topic, type, data) as Prisma.InputJsonValue;
  await tx.outboxEvent.create({ data: { topic, type, aggregateId: campaign.id, version: campaign.version, data: checked, traceparent: activeTraceparent() } });
}

/** A domain event on the campaign's own timeline (`campaign:<id>`). */
const recordEvent = <T extends CampaignEventType>(tx: Tx, campaign: Campaign, type: T, data: EventData<T>) => appendEvent(tx, Topics.campaign(campaign.id), campaign, type, data);

/**
 * Tells simulation that the campaign's lifecycle or membership changed (integration event,
 * same transaction as the domain event): simulation's consumer group reads one stream for
 * every campaign instead of scanning each campaign's timeline.
 */
const tellSimulation = (tx: Tx, topic: string, campaign: Campaign, change: LifecycleEventType) => appendEvent(tx, topic, campaign, CAMPAIGN_LIFECYCLE_CHANGED, { change });

/**
 * Asks notification to tell `recipientIds` (integration event, same transaction): members at
 * the moment of the change, never the one who made it.
 */
async function requestNotification(
  tx: Tx,
  topic: string,
  campaign: Campaign,
  template: NotificationTemplate,
  recipientIds: string[],
  params: Record<string, string> = {},
) {
  if (recipientIds.length === 0) return;
  const request: NotificationRequest = { template, recipientIds, campaignId: campaign.id, params: { campaignName: campaign.name, ...params } };
  await appendEvent(tx, topic, campaign, NOTIFICATION_REQUESTED, request);
}

const memberIds = async (tx: Tx, campaignId: string, role?: "GAME_MASTER", except?: string) =>
  (await tx.membership.findMany({ where: { campaignId, ...(role ? { role } : {}) }, select: { userId: true } }))
    .map((m) => m.userId)
    .filter((id) => id !== except);

/**
 * Membership changes are changes of the campaign aggregate: each gets its own version, so
 * consumers can order events and dedupe on (aggregateId, version).
 */
const bumpVersion = (tx: Tx, campaignId: string) =>
  tx.campaign.update({ where: { id: campaignId }, data: { version: { increment: 1 } } });

/** Campaign writes: each state change and its event commit together or not at all. */
export function createCampaignService(db: Db, options: { afterCommit?: () => void; notificationTopic?: string; lifecycleTopic?: string } = {}) {
  const notificationTopic = options.notificationTopic ?? Topics.notifications;
  const lifecycleTopic = options.lifecycleTopic ?? Topics.campaignLifecycle;
  // After a commit the outbox relay may publish at once (docs/architecture.md §5).
  const transaction = async <T>(work: (tx: Tx) => Promise<T>): Promise<T> => {
    const result = await db.$transaction(work);
    options.afterCommit?.();
    return result;
  };
  /**
   * Ends a player's membership with its events. A concurrent removal of the same membership
   * may have deleted it since it was read: then it was no longer theirs to end (false).
   */
  const removeMembership = async (tx: Tx, membership: Pick<Membership, "id" | "campaignId" | "userId">): Promise<boolean> => {
    const deleted = await tx.membership.deleteMany({ where: { id: membership.id } });
    if (deleted.count === 0) return false;
    const { campaignId, userId } = membership;
    const bumped = await bumpVersion(tx, campaignId);
    await recordEvent(tx, bumped, "PLAYER_LEFT", { userId });
    await tellSimulation(tx, lifecycleTopic, bumped, "PLAYER_LEFT");
    await requestNotification(tx, notificationTopic, bumped, "PLAYER_LEFT", await memberIds(tx, campaignId, "GAME_MASTER", userId), { userId });
    return true;
  };
  return {
    create(viewer: SignedInViewer, input: CreateCampaignInput, audit: AuditContext): Promise<Campaign> {
      return transaction(async (tx) => {
        const campaign = await tx.campaign.create({
          data: {
            ...input,
            createdById: viewer.userId,
            memberships: { create: { userId: viewer.userId, role: "GAME_MASTER" } },
          },
        });
        await recordEvent(tx, campaign, "CAMPAIGN_CREATED", { name: campaign.name, gameMasterId: viewer.userId });
        await recordAudit(tx, audit, {
          action: "campaign.create",
          outcome: AuditOutcome.SUCCESS,
          targetType: "Campaign",
          targetId: campaign.id,
          details: { gameMasterId: viewer.userId },
        });
        return campaign;
      });
    },

    join(viewer: SignedInViewer, campaignId: string): Promise<Membership> {
      return transaction(async (tx) => {
        // Lock the campaign row so concurrent joins cannot overfill it.
        const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM campaigns WHERE id = ${campaignId}::uuid FOR UPDATE`;
        if (locked.length === 0) throw notFound("No campaign with this id");
        const campaign = await tx.campaign.findUniqueOrThrow({ where: { id: campaignId } });
        const existing = await tx.membership.findUnique({ where: { campaignId_userId: { campaignId, userId: viewer.userId } } });
        if (existing) return existing;
        if (campaign.status === "ENDED") throw conflict("This campaign has ended");
        const members = await tx.membership.count({ where: { campaignId } });
        if (members >= campaign.maxPlayers) throw conflict(`This campaign is full (${campaign.maxPlayers} players)`);
        const membership = await tx.membership.create({ data: { campaignId, userId: viewer.userId, role: "PLAYER" } });
        const bumped = await bumpVersion(tx, campaignId);
        await recordEvent(tx, bumped, "PLAYER_JOINED", { userId: viewer.userId, membershipId: membership.id });
        await tellSimulation(tx, lifecycleTopic, bumped, "PLAYER_JOINED");
        await requestNotification(tx, notificationTopic, bumped, "PLAYER_JOINED", await memberIds(tx, campaignId, "GAME_MASTER", viewer.userId), { userId: viewer.userId });
        return membership;
      });
    },

    leave(viewer: SignedInViewer, campaignId: string): Promise<boolean> {
      return transaction(async (tx) => {
        const campaign = await tx.campaign.findUnique({ where: { id: campaignId } });
        if (!campaign) throw notFound("No campaign with this id");
        const membership = await tx.membership.findUnique({ where: { campaignId_userId: { campaignId, userId: viewer.userId } } });
        if (!membership) return false;
        if (membership.role === "GAME_MASTER") throw conflict("The game master cannot leave; end the campaign instead");
        return removeMembership(tx, membership);
      });
    },

    /**
     * A deleted account's memberships end as if they had left (ACCOUNT_ERASURE_REQUESTED):
     * PLAYER_LEFT for each, so simulation hands their civilizations to the AI and notification
     * stops telling them anything. A game master's membership stays, with the campaign's
     * history: the campaign keeps running for its players, and an admin may end it. Returns
     * how many ended; again for the same account, none.
     */
    async removeMemberships(userId: string): Promise<number> {
      const memberships = await db.membership.findMany({ where: { userId, role: "PLAYER" }, select: { id: true, campaignId: true, userId: true } });
      let removed = 0;
      for (const membership of memberships) if (await transaction((tx) => removeMembership(tx, membership))) removed += 1;
      return removed;
    },

    /** Who may call this is declared in the schema (@policy campaign_game_master). Audited as campaign.<action>. */
    async changeStatus(loaders: CampaignLoaders, campaignId: string, action: LifecycleAction, audit: AuditContext): Promise<Campaign> {
      const current = await loaders.campaignById.load(campaignId);
      if (!current) throw notFound("No campaign with this id");
      const rule = TRANSITIONS[action];
      return transaction(async (tx) => {
        const now = new Date();
        // Locked, so the audit entry's `from` is the status this change replaced.
        const [locked] = await tx.$queryRaw<{ status: string }[]>`SELECT status::text AS status FROM campaigns WHERE id = ${campaignId}::uuid FOR UPDATE`;
        // Compare-and-set on the status: of two racing transitions only one applies.
        const updated = await tx.campaign.updateMany({
          where: { id: campaignId, status: { in: [...rule.from] } },
          data: {
            status: rule.to,
            version: { increment: 1 },
            ...(action === "start" ? { startedAt: now } : {}),
            ...(action === "end" ? { endedAt: now } : {}),
          },
        });
        const campaign = await tx.campaign.findUniqueOrThrow({ where: { id: campaignId } });
        if (updated.count === 0) {
          const result = transition(campaign.status, action);
          const reason = result.ok ? `Cannot ${action} this campaign now` : result.reason;
          throw conflict(reason, { from: campaign.status, to: rule.to });
        }
        await recordEvent(tx, campaign, rule.event, { status: campaign.status });
        await tellSimulation(tx, lifecycleTopic, campaign, rule.event);
        const actor = audit.viewer.kind === "user" ? audit.viewer.userId : undefined;
        await requestNotification(tx, notificationTopic, campaign, rule.event, await memberIds(tx, campaignId, undefined, actor));
        await recordAudit(tx, audit, {
          action: `campaign.${action}`,
          outcome: AuditOutcome.SUCCESS,
          targetType: "Campaign",
          targetId: campaignId,
          details: { from: locked?.status ?? null, to: campaign.status },
        });
        return campaign;
      });
    },
  };
}

export type CampaignService = ReturnType<typeof createCampaignService>;
