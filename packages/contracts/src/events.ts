import { z } from "zod";

/*
 * Every event type's `data`, exactly as its producer writes it. A producer builds its data
 * through eventData() (typed and checked here), a consumer reads it through parseEvent(); an
 * event its schema rejects is never published, and one that arrives anyway is refused.
 * Objects are strict: a field a producer adds must be added here first, where its
 * consumers see it.
 */

const id = z.uuid();
/** Engine ids (civilizations, fleets, systems…): short strings made by the world generator. */
const engineId = z.string().min(1).max(100);
const tick = z.number().int().min(0);
const count = z.number().int().min(0);
const campaignStatus = z.enum(["DRAFT", "RUNNING", "PAUSED", "ENDED"]);
const presenceStatus = z.enum(["ONLINE", "AWAY", "OFFLINE"]);

export const NOTIFICATION_TEMPLATES = ["CAMPAIGN_STARTED", "CAMPAIGN_PAUSED", "CAMPAIGN_RESUMED", "CAMPAIGN_ENDED", "PLAYER_JOINED", "PLAYER_LEFT"] as const;
export type NotificationTemplate = (typeof NOTIFICATION_TEMPLATES)[number];

const lifecycleChange = z.strictObject({ status: campaignStatus });

/**
 * Identity's events on `account:<userId>`: that someone joined the game, when they came back
 * and that they left for good, never who they are or how to reach them (no email, name or
 * address). aggregateId: the user; version: the account's own count of these events.
 */
export const accountEvents = {
  ACCOUNT_REGISTERED: z.strictObject({ method: z.enum(["PASSWORD", "OIDC"]) }).describe("register, or a first sign-in with an OpenID Connect provider (service accounts are not players: none)"),
  SIGNED_IN: z.strictObject({ method: z.enum(["PASSWORD", "OIDC", "REFRESH"]) }).describe("login, a sign-in with an OpenID Connect provider, or refreshToken (a session kept going)"),
  ACCOUNT_DELETED: z
    .strictObject({})
    .describe("deleteAccount: the user deleted their own account (the last event of its topic); analytics forgets them, as forgetUser does"),
};

/**
 * Integration events on `integration:account-erasures`, for the services that keep a user's
 * data besides identity and analytics (each reads it as its own consumer group: the family's
 * `groups`): one per deleteAccount, in the same transaction as ACCOUNT_DELETED. aggregateId:
 * the user; version: the account's own count of events.
 */
export const accountErasureEvents = {
  ACCOUNT_ERASURE_REQUESTED: z
    .strictObject({ userId: id })
    .describe("deleteAccount, with ACCOUNT_DELETED: campaign ends the user's memberships, notification drops their devices, preferences and notifications"),
};

/**
 * The mail identity sends about an account: a verification link (sign-up, resend), a
 * password-reset link, a link confirming a change of address (to the new address) and the
 * notices that the address or the password changed (to the old address, or the account's).
 */
export const ACCOUNT_MAIL_KINDS = ["VERIFY_EMAIL", "RESET_PASSWORD", "CONFIRM_EMAIL_CHANGE", "EMAIL_CHANGE_NOTICE", "PASSWORD_CHANGED_NOTICE"] as const;

/**
 * Integration events on `integration:account-mail`, for the notification worker pool (its
 * consumer group), in the transaction that made the mail's token. Never an address or a
 * secret: notification asks identity's service-only route for the recipient, the locale and
 * the link by `mailId` when it sends, and identity answers 410 once the mail is moot (its
 * link used, expired or superseded). aggregateId: the user; version: the account's own count.
 */
export const accountMailEvents = {
  ACCOUNT_MAIL_REQUESTED: z
    .strictObject({ kind: z.enum(ACCOUNT_MAIL_KINDS), mailId: id })
    .describe("register, resendVerificationEmail, requestPasswordReset (a known address only), requestEmailChange (two: the link to the new address, the notice to the old), resetPassword (the notice)"),
};

/** Campaign's events on `campaign:<campaignId>`. aggregateId: the campaign; version: the campaign's version after the change. */
export const campaignEvents = {
  CAMPAIGN_CREATED: z.strictObject({ name: z.string().min(1), gameMasterId: id }).describe("createCampaign"),
  PLAYER_JOINED: z.strictObject({ userId: id, membershipId: id }).describe("joinCampaign (a new membership)"),
  PLAYER_LEFT: z.strictObject({ userId: id }).describe("leaveCampaign"),
  CAMPAIGN_STARTED: lifecycleChange.describe("startCampaign (DRAFT → RUNNING)"),
  CAMPAIGN_PAUSED: lifecycleChange.describe("pauseCampaign (RUNNING → PAUSED)"),
  CAMPAIGN_RESUMED: lifecycleChange.describe("resumeCampaign (PAUSED → RUNNING)"),
  CAMPAIGN_ENDED: lifecycleChange.describe("endCampaign (→ ENDED)"),
};

/** The campaign events simulation acts on: each changes which world should exist and whether it ticks. */
export const CAMPAIGN_LIFECYCLE_EVENT_TYPES = ["PLAYER_JOINED", "PLAYER_LEFT", "CAMPAIGN_STARTED", "CAMPAIGN_PAUSED", "CAMPAIGN_RESUMED", "CAMPAIGN_ENDED"] as const;

/**
 * Integration events on `integration:campaign-lifecycle`, for simulation: one per campaign
 * event in CAMPAIGN_LIFECYCLE_EVENT_TYPES, in the same transaction. A consumer group reads
 * them, so simulation sees each change once per group, however many campaigns there are and
 * however long ago the group last read. aggregateId and version: the campaign and its version.
 */
export const campaignLifecycleEvents = {
  CAMPAIGN_LIFECYCLE_CHANGED: z
    .strictObject({ change: z.enum(CAMPAIGN_LIFECYCLE_EVENT_TYPES) })
    .describe("with PLAYER_JOINED, PLAYER_LEFT and each lifecycle change, in the same transaction"),
};

/** Simulation's events on `world:<campaignId>`. aggregateId: the campaign; version: the world's tick. */
export const worldEvents = {
  WORLD_CREATED: z.strictObject({ tick: z.literal(0), hash: z.string().min(1), civilizations: count, systems: count }).describe("the lifecycle job generated the world (tick 0)"),
  TICK_COMPLETED: z.strictObject({ tick, hash: z.string().min(1), commandsApplied: count, commandsRejected: count, events: count }).describe("every applied tick; `events` counts the engine events of the tick, published or not"),
  FLEET_ARRIVED: z.strictObject({ tick, fleetId: engineId, civId: engineId, systemId: engineId }).describe("a fleet reached its destination"),
  BATTLE_RESOLVED: z.strictObject({ tick, systemId: engineId, winnerId: engineId, loserId: engineId, winnerLosses: count, loserLosses: count }).describe("two civilizations at war fought in a system"),
  FLEET_DESTROYED: z.strictObject({ tick, fleetId: engineId, civId: engineId }).describe("a fleet lost all its ships"),
  RESEARCH_COMPLETED: z.strictObject({ tick, civId: engineId, techId: engineId }).describe("a technology was researched"),
  PRICE_SHOCK: z.strictObject({ tick, marketId: engineId, good: z.string().min(1), oldPrice: z.number(), newPrice: z.number() }).describe("a market price moved by at least 20 % in one tick"),
  WAR_DECLARED: z.strictObject({ tick, civId: engineId, targetCivId: engineId }).describe("a civilization declared war (a player's diplomacy command or an AI decision)"),
  PEACE_MADE: z.strictObject({ tick, civId: engineId, otherCivId: engineId }).describe("a peace offer met the other side's"),
  TREATY_SIGNED: z.strictObject({ tick, civId: engineId, otherCivId: engineId, treaty: z.string().min(1) }).describe("a treaty offer met the other side's"),
  CIVILIZATION_CLAIMED: z.strictObject({ tick, civId: engineId, playerId: id }).describe("a member's JOIN_CAMPAIGN took over an AI civilization"),
  CIVILIZATION_RELEASED: z.strictObject({ tick, civId: engineId, playerId: id }).describe("a leaving player's civilization went back to the AI"),
};

const civilizationStats = z.strictObject({
  civId: engineId,
  /** Null for an AI civilization. */
  playerId: id.nullable(),
  population: count,
  credits: z.number().int(),
  score: z.number().int(),
  stability: z.number().int().min(0).max(100),
  ships: count,
  /** Units of goods its cities produced in the recorded tick. Optional: absent from records made before it existed. */
  output: count.optional(),
  eliminated: z.boolean(),
  /** Commands its player had decided (applied or rejected) since the previous TICK_STATS; 0 for an AI civilization. */
  commands: count,
});

/**
 * Simulation's telemetry on `telemetry:simulation`, for analytics only (no player reads it):
 * a campaign's economy and each civilization's standing after a tick, every TICK_STATS_EVERY
 * ticks, recorded in the tick's transaction. aggregateId: the campaign; version: the tick.
 */
export const telemetryEvents = {
  TICK_STATS: z
    .strictObject({
      campaignId: id,
      tick,
      population: count,
      credits: z.number().int(),
      ships: count,
      battles: count,
      tradeVolume: count,
      meanStability: z.number().int().min(0).max(100),
      /** Each good's mean price over the world's markets. */
      prices: z.record(z.string().min(1).max(64), z.number().min(0)),
      civilizations: z.array(civilizationStats).max(1_000),
    })
    .describe("every TICK_STATS_EVERY-th applied tick: world totals, mean prices per good, and every civilization's population, credits, score, stability, ships, output (goods its cities produced in the tick) and its player's commands since the last"),
};

/** Simulation's system events on `system:simulation`. aggregateId: the campaign; version: the refused tick. */
export const simulationSystemEvents = {
  TICK_CONSERVATION_FAILED: z.strictObject({ campaignId: id, tick, asset: z.string().min(1), expected: z.number(), actual: z.number() }).describe("a tick broke conservation and was not saved; the world is HALTED"),
};

const chatMessage = { channelId: id, campaignId: id, authorId: id };
/** Realtime's chat events on `channel:<channelId>`: ids only, never the text. aggregateId: the message; version: the message's. */
export const chatEvents = {
  MESSAGE_ADDED: z.strictObject(chatMessage).describe("postMessage (not a repeat of an idempotencyKey)"),
  MESSAGE_EDITED: z.strictObject(chatMessage).describe("editMessage"),
  MESSAGE_DELETED: z.strictObject({ ...chatMessage, deletedById: id }).describe("deleteMessage"),
};

/** Realtime's presence events on `presence:<campaignId>`, published directly (no outbox). aggregateId: the user. */
export const presenceEvents = {
  PRESENCE_CHANGED: z.strictObject({ userId: id, status: presenceStatus, previousStatus: presenceStatus, lastSeenAt: z.iso.datetime().nullable() }).describe("a member's status in the campaign changed (connect, last disconnect or lapse, setPresence, idle)"),
};

/** Provider's events on `job:<jobId>`, published directly (no outbox). aggregateId: the job. */
export const jobEvents = {
  JOB_QUEUED: z.strictObject({ jobId: id }).describe("the provider subgraph created a streamed job, before queueing it; its stream id is ProviderJob.streamStartId"),
  TEXT_CHUNK: z.strictObject({ jobId: id, attempt: z.number().int().min(1), index: z.number().int().min(0), text: z.string(), done: z.boolean() }).describe("each piece of text from the vendor (or the cache), then a last one with done: true; a new attempt after a failover restarts the text"),
};

/** The upper bounds (ms) of the gateway's operation latency buckets; one more bucket counts what took longer. */
export const OPERATION_LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;

/** Which bucket of a histogram with these upper bounds `value` falls in: the first bound it does not exceed, else the last bucket (longer than every bound). */
export function histogramBucket(bounds: readonly number[], value: number): number {
  const index = bounds.findIndex((bound) => value <= bound);
  return index < 0 ? bounds.length : index;
}

/** A client-chosen name as the gateway bounds it (clean characters, at most 64). */
const label = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);
/** A schema coordinate (`Type.field`, `Type.field(arg:)`, `Enum.VALUE`). */
const coordinate = z.string().min(1).max(200);

const operationStats = z.strictObject({
  /** The operation's name, `anonymous` without one, `other` past the gateway's bound on distinct names. */
  operation: label,
  clientName: label,
  clientVersion: label,
  requests: count,
  /** Operations answered with at least one error. */
  errors: count,
  /** Per error code, the operations that had it (each code once per operation). */
  errorCodes: z.record(label, count),
  durationMsSum: z.number().min(0),
  /** Operations per latency bucket: OPERATION_LATENCY_BUCKETS_MS, then one for longer. */
  durationBuckets: z.array(count).length(OPERATION_LATENCY_BUCKETS_MS.length + 1),
  /** Per deprecated schema element, the operations that used it. */
  deprecated: z.record(coordinate, count),
});

/**
 * The gateway's usage statistics on `api:<replica>`, appended straight to its firehose (no
 * topic stream, no outbox): one event per replica per window, about operations, clients and
 * codes, never callers. aggregateId: the replica; version: its count of windows.
 */
export const apiEvents = {
  OPERATION_STATS: z
    .strictObject({ minute: z.iso.datetime(), operations: z.array(operationStats).max(2_000) })
    .describe("each replica's GraphQL operations of a window (a minute), by operation and client: counts, error codes, a latency histogram, deprecated elements used"),
};

/**
 * Provider's usage records on `ai:provider`, for analytics only: one per finished job, in the
 * transaction that records its result (billed once, so recorded once). Never the prompt or
 * the answer. aggregateId: the job; version: 1.
 */
export const aiEvents = {
  JOB_FINISHED: z
    .strictObject({
      jobId: id,
      kind: z.enum(["TEXT", "SPEECH", "IMAGE", "TRANSCRIPTION"]),
      campaignId: id.nullable(),
      status: z.enum(["SUCCEEDED", "FAILED"]),
      /** The deployment and model that answered; null for a failure, or a cache hit's original when unknown. */
      deployment: z.string().min(1).max(100).nullable(),
      model: z.string().min(1).max(200).nullable(),
      cached: z.boolean(),
      /** Deployments that failed before one answered (within the last attempt), or all that failed. */
      failovers: count,
      attempts: count,
      promptTokens: count,
      completionTokens: count,
      costMicros: count,
      /** From the request to the first run, and from it to the result (ms). */
      waitMs: count,
      runMs: count,
      errorCode: z.string().min(1).max(64).nullable(),
    })
    .describe("a job succeeded (from a vendor or the cache) or failed for good: its deployment, model, tokens, cost, latency and failovers"),
};

/**
 * Realtime's sessions on `sessions:realtime`, for analytics only: a member's time in a
 * campaign, from going online (or away) to going offline (their last disconnect, or their
 * connection lapsing). aggregateId: the user; version: their presence version in the campaign.
 */
export const sessionEvents = {
  SESSION_ENDED: z
    .strictObject({ campaignId: id, userId: id, startedAt: z.iso.datetime(), endedAt: z.iso.datetime(), durationMs: count })
    .describe("a member went offline in a campaign: when their session began and when they were last seen"),
};

/**
 * Content's events on `assets:content`: a file was stored or removed (never its bytes or its
 * file name). aggregateId: the asset; version: 1 when uploaded, 2 when deleted.
 */
export const assetEvents = {
  ASSET_UPLOADED: z
    .strictObject({
      /** Null for a service's asset (generated media). */
      ownerId: id.nullable(),
      kind: z.enum(["AVATAR", "MEDIA", "PACK_FILE", "PACK_ARCHIVE", "VOICE"]),
      visibility: z.enum(["PUBLIC", "PRIVATE"]),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      size: count,
      mediaType: z.string().min(1).max(100),
      /** The same bytes were stored already (by anyone): nothing new was written to storage. */
      deduplicated: z.boolean(),
    })
    .describe("an upload was stored and verified: who owns it, what it is and how large"),
  ASSET_DELETED: z
    .strictObject({ ownerId: id.nullable(), sha256: z.string().regex(/^[0-9a-f]{64}$/), reason: z.enum(["OWNER", "ADMIN", "ACCOUNT_ERASED"]) })
    .describe("an asset was removed by its owner or an admin, or with its owner's account; its bytes go once no asset has them"),
};

const packRef = z.strictObject({ packId: id, name: z.string().min(1).max(64), version: z.string().min(1).max(100), versionId: id });

/**
 * Content's events of content packs on `packs:content`. aggregateId: the pack version;
 * version: 1 when published, 2 when deprecated.
 */
export const packEvents = {
  PACK_VERSION_PUBLISHED: packRef.extend({ files: count, bytes: count }).describe("a pack version was frozen and offered: its manifest never changes"),
  PACK_VERSION_DEPRECATED: packRef.describe("a pack version is no longer offered (campaigns that enabled it keep it)"),
};

/**
 * Content's events of one campaign's packs on `campaign-content:<campaignId>`
 * (`campaignContentChanged`). aggregateId: the campaign; version: its count of pack changes.
 */
export const campaignContentEvents = {
  CAMPAIGN_PACK_ENABLED: packRef.describe("a game master enabled a pack version for the campaign (replacing another version of the pack)"),
  CAMPAIGN_PACK_DISABLED: packRef.describe("a game master disabled a pack for the campaign"),
};

/** Notification's events on `inbox:<userId>`. aggregateId: the notification; version: 1. */
export const inboxEvents = {
  NOTIFICATION_ADDED: z.strictObject({ category: z.enum(["CAMPAIGN", "MEMBERSHIP", "ANNOUNCEMENT", "SYSTEM"]) }).describe("a notification was created that the recipient's in-app preference shows"),
};

/**
 * Integration events on `integration:notifications` asking notification to tell users
 * something, recorded in the sender's outbox in the transaction of the change it is about.
 * Notification owns the wording (its templates) and the channels (preferences, devices).
 * aggregateId and version: the sender's aggregate (the campaign) and its version.
 */
export const notificationRequestEvents = {
  NOTIFICATION_REQUESTED: z.strictObject({
    template: z.enum(NOTIFICATION_TEMPLATES),
    /** Who is told; the sender decides (it knows its members), at the moment of the change. */
    recipientIds: z.array(id).min(1).max(10_000),
    campaignId: id.nullable(),
    /** The values the template names (campaignName, userId, ...), all strings. */
    params: z.record(z.string(), z.string()),
  }).describe("with PLAYER_JOINED, PLAYER_LEFT and each lifecycle change, in the same transaction, when there is someone to tell"),
};
