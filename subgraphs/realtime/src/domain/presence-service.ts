import { randomUUID } from "node:crypto";
import { Topics, eventData, publishEnvelope, readStreamEvent, type EventData, type Logger, type Redis } from "@startales/service-kit";
import type { PresenceStatus, PresenceStore, Transition } from "./presence-store";

export const PRESENCE_CHANGED = "PRESENCE_CHANGED" as const;

/** The data of a PRESENCE_CHANGED envelope: ids and states only. */
export type PresenceChangedData = EventData<typeof PRESENCE_CHANGED>;

/** A presence event read back from `events:presence:<campaignId>`. */
export type PresenceEventModel = {
  id: string;
  campaignId: string;
  userId: string;
  status: PresenceStatus;
  previousStatus: PresenceStatus;
  occurredAt: string;
};

/** A member's time in a campaign, in ms since the epoch. */
export type EndedSession = { campaignId: string; userId: string; startedAt: number; endedAt: number; version: number };

/**
 * Presence changes are announced straight to Redis (no outbox: presence is ephemeral and
 * lives in Redis itself), one PRESENCE_CHANGED envelope per transition the store reports.
 */
export function createPresenceService(options: {
  redis: Redis;
  store: PresenceStore;
  logger: Logger;
  streamMaxLen: number;
  sweepMs: number;
  /** How long a connection lives without a heartbeat (PRESENCE_TTL_MS). */
  ttlMs: number;
  clock?: () => number;
  /** A member's session in a campaign ended (they went OFFLINE): for analytics (session-events.ts). */
  onSessionEnded?: (session: EndedSession) => Promise<void>;
}) {
  const { redis, store, logger } = options;
  const now = options.clock ?? Date.now;

  /** `endedAt`: when a session that goes OFFLINE here ended (now, for a disconnect). */
  async function announce(transitions: Transition[], endedAt = now()): Promise<void> {
    for (const t of transitions) {
      const data: PresenceChangedData = {
        userId: t.userId,
        status: t.to,
        previousStatus: t.from,
        lastSeenAt: t.seenAt > 0 ? new Date(t.seenAt).toISOString() : null,
      };
      const topic = Topics.presence(t.campaignId);
      await publishEnvelope(
        redis,
        {
          id: randomUUID(),
          type: PRESENCE_CHANGED,
          topic,
          occurredAt: new Date(now()).toISOString(),
          aggregateId: t.userId,
          version: t.version,
          data: eventData(topic, PRESENCE_CHANGED, data),
          traceparent: null,
        },
        { streamMaxLen: options.streamMaxLen },
      );
      if (t.to === "OFFLINE" && t.startedAt > 0 && options.onSessionEnded) {
        const session = { campaignId: t.campaignId, userId: t.userId, startedAt: t.startedAt, endedAt: Math.max(endedAt, t.startedAt), version: t.version };
        await options.onSessionEnded(session).catch((error: unknown) =>
          // Presence goes on; analytics misses this one session.
          logger.warn({ err: error, campaignId: t.campaignId }, "could not record an ended session for analytics"),
        );
      }
    }
  }

  /** One pass: end lapsed connections, turn idle users AWAY. Safe on every replica at once. */
  async function sweep(): Promise<number> {
    const at = now();
    let changes = 0;
    for (const { info } of await store.claimLapsed(at, 500)) {
      if (!info) continue;
      const transitions = (await Promise.all(info.campaignIds.map((c) => store.refresh(c, info.userId, at)))).filter((t): t is Transition => t !== null);
      // A lapsed connection's last heartbeat was a TTL before it lapsed, at the latest.
      await announce(transitions, at - options.ttlMs);
      changes += transitions.length;
    }
    for (const userId of await store.claimIdle(at, 500)) {
      const campaigns = await store.campaignsOf(userId);
      const transitions = (await Promise.all(campaigns.map((c) => store.refresh(c, userId, at)))).filter((t): t is Transition => t !== null);
      await announce(transitions);
      changes += transitions.length;
    }
    return changes;
  }

  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> | undefined;
  let running = false;
  const loop = () => {
    if (!running) return;
    inFlight = sweep()
      .catch((error: unknown) => logger.warn({ err: error }, "presence sweep failed; retrying at the next one"))
      .finally(() => {
        inFlight = undefined;
        if (running) timer = setTimeout(loop, options.sweepMs);
      });
  };

  return {
    now,
    announce,
    sweep,
    startSweeper() {
      if (running) return;
      running = true;
      timer = setTimeout(loop, options.sweepMs);
    },
    async stopSweeper() {
      running = false;
      clearTimeout(timer);
      await inFlight;
    },

    /** The presence event `id` of a campaign's feed, or null once trimmed (or never there). */
    async event(campaignId: string, id: string): Promise<PresenceEventModel | null> {
      const event = await readStreamEvent(redis, Topics.presence(campaignId), id);
      if (!event || event.type !== PRESENCE_CHANGED) return null;
      const data = event.data as PresenceChangedData;
      return { id: event.streamId, campaignId, userId: data.userId, status: data.status, previousStatus: data.previousStatus, occurredAt: event.occurredAt };
    },
  };
}

export type PresenceService = ReturnType<typeof createPresenceService>;
