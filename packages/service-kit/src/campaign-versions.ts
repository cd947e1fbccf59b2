import { compareStreamIds, streamKey } from "./event-stream";
import type { Logger } from "./logger";
import { EVENT_STREAM_PREFIX } from "./outbox-relay";
import type { Redis } from "./redis";
import { Topics } from "./topics";
import { createTtlCache } from "./ttl-cache";

/**
 * The version of a campaign's data as every replica sees it: the id of the last event on its
 * stream. The world's (`events:world:<id>`: WORLD_CREATED, then each tick, which is also when
 * civilizations change hands) changes with every change of its read models, since the worker
 * writes them and the event in one transaction (outbox) and the relay publishes the event
 * after the commit: a reader who sees the new id reads the new rows. Campaign's
 * (`events:campaign:<id>`: lifecycle, joins, leaves, kicks) changes with who may read it.
 *
 * Learnt cheaply: asked of Redis once per campaign (XREVRANGE … COUNT 1, both streams in one
 * round trip), then kept up to date by the relay's publications on the streams' channels
 * (one pattern subscription per process). While not subscribed (starting, reconnecting) every
 * read asks Redis; after a reconnect everything known is dropped, since events may have been
 * missed. Entries also expire after `ttlMs`: a bound on a missed publication.
 */
export type CampaignVersions = {
  /** The world's version: changes with every tick (and the world's creation); null while Redis is away (nothing can be cached then). */
  world(campaignId: string): Promise<string | null>;
  /** Campaign's version: changes with its lifecycle and membership; null while Redis is away. */
  membership(campaignId: string): Promise<string | null>;
  /** What this process knows of a feed's version without asking Redis: undefined unless it follows the feed, is subscribed and has learnt it. */
  known(feed: VersionedFeed, campaignId: string): string | undefined;
  start(): Promise<void>;
  stop(): void;
};

/** Before any event: a campaign without a world yet, or whose stream Redis no longer has. */
export const NO_EVENTS = "0-0";
const WORLD_CHANNELS = `${EVENT_STREAM_PREFIX}${Topics.world("*")}`;
const CAMPAIGN_CHANNELS = `${EVENT_STREAM_PREFIX}${Topics.campaign("*")}`;
const STREAM_ID = /^\{"streamId":"(\d+-\d+)"/;
const CHANNELS = { world: WORLD_CHANNELS, campaign: CAMPAIGN_CHANNELS } as const;

/** The feeds whose versions a process keeps: a feed not followed is asked of Redis on every read. */
export type VersionedFeed = keyof typeof CHANNELS;

/**
 * `follows`: the feeds whose publications the process listens to, and so keeps. A service
 * that needs only membership versions (realtime) follows `campaign` alone: every world's
 * ticks are not its to hear.
 */
export function createCampaignVersions(
  redis: Redis,
  options: { logger: Logger; ttlMs: number; maxEntries: number; connectionName: string; follows: readonly VersionedFeed[] },
): CampaignVersions {
  const { logger, ttlMs, maxEntries } = options;
  const known = { world: createTtlCache<string>({ maxEntries }), campaign: createTtlCache<string>({ maxEntries }) };
  const followed = new Set(options.follows);
  let subscriber: Redis | undefined;
  let subscribed = false;
  const listening = (kind: VersionedFeed) => followed.has(kind) && subscribed && subscriber?.status === "ready";

  /** Never backwards: a publication and a read of the stream may arrive in either order. */
  const advance = (kind: VersionedFeed, campaignId: string, streamId: string) => {
    const current = known[kind].get(campaignId);
    const latest = current !== undefined && compareStreamIds(current, streamId) >= 0 ? current : streamId;
    if (listening(kind)) known[kind].set(campaignId, latest, ttlMs);
    return latest;
  };

  const lastId = (entries: unknown) => ((entries as [string, unknown][] | null)?.[0]?.[0] ?? NO_EVENTS);
  async function ask(campaignId: string): Promise<{ world: string; campaign: string }> {
    const replies = await redis
      .pipeline()
      .xrevrange(streamKey(Topics.world(campaignId)), "+", "-", "COUNT", 1)
      .xrevrange(streamKey(Topics.campaign(campaignId)), "+", "-", "COUNT", 1)
      .exec();
    const [world, campaign] = (replies ?? []).map(([error, entries]) => {
      if (error) throw error;
      return lastId(entries);
    });
    return { world: advance("world", campaignId, world!), campaign: advance("campaign", campaignId, campaign!) };
  }

  // While Redis is away its offline queue would hold a read until it is back: no version then.
  const versionOf = (kind: VersionedFeed) => async (campaignId: string) =>
    (listening(kind) ? known[kind].get(campaignId) : undefined) ?? (redis.status === "ready" ? (await ask(campaignId))[kind] : null);

  return {
    world: versionOf("world"),
    membership: versionOf("campaign"),
    known: (kind, campaignId) => (listening(kind) ? known[kind].get(campaignId) : undefined),
    async start() {
      subscriber = redis.duplicate({ connectionName: options.connectionName });
      subscriber.on("pmessage", (pattern: string, channel: string, message: string) => {
        const streamId = STREAM_ID.exec(message)?.[1];
        if (!streamId) return;
        const kind = pattern === WORLD_CHANNELS ? "world" : "campaign";
        advance(kind, channel.slice(channel.indexOf(":", EVENT_STREAM_PREFIX.length) + 1), streamId);
      });
      subscriber.on("ready", () => {
        // Later "ready"s are reconnects: what was published meanwhile is lost, so nothing known is trusted.
        if (!subscribed) return;
        known.world.clear();
        known.campaign.clear();
        logger.info("reconnected to campaign events; dropped the campaigns' versions");
      });
      subscriber.on("error", (error: Error) => logger.warn({ err: error }, "read model version subscriber error"));
      await subscriber.psubscribe(...[...followed].map((kind) => CHANNELS[kind]));
      subscribed = true;
    },
    stop() {
      subscribed = false;
      subscriber?.disconnect();
    },
  };
}

/** A process's campaign versions as every service keeps them: trusted READ_CACHE_VERSION_TTL_MS without a publication, for up to 100,000 campaigns. */
export function followCampaignVersions(
  redis: Redis,
  config: { READ_CACHE_VERSION_TTL_MS: number },
  options: { logger: Logger; connectionName: string; follows: readonly VersionedFeed[] },
): CampaignVersions {
  return createCampaignVersions(redis, { ...options, ttlMs: config.READ_CACHE_VERSION_TTL_MS, maxEntries: 100_000 });
}
