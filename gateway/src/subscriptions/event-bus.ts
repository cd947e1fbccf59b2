import { RedisPubSub } from "graphql-redis-subscriptions";
import {
  EVENT_STREAM_PREFIX,
  compareStreamIds,
  createRedis,
  isStreamId,
  newestTimelineId,
  readTimelineEventsAfter,
  timelineTopics,
  type Logger,
  type Redis,
  type StreamEvent,
} from "@startales/service-kit";

export type EventHandler = (event: StreamEvent) => void;

export type EventBus = {
  /**
   * Resolves once Redis confirmed the subscription: from then on no event of `topic` is
   * missed. A topic that is part of a timeline (timelineTopics) delivers the events of every
   * topic of it, merged in stream-id order.
   */
  subscribe(topic: string, handler: EventHandler): Promise<() => void>;
  /** Topics this replica listens to. */
  topicCount(): number;
  close(): Promise<void>;
};

type TopicState = {
  handlers: Set<EventHandler>;
  /** The feed's streams: the topic, or every topic of its timeline. */
  streams: string[];
  subscription: Promise<number[]>;
  /** The newest event passed on: older or equal ids (repeats after a gap fill) are dropped. */
  lastId: string | null;
  /** The stream's newest id when the topic was subscribed: where a gap fill starts if no event came since. */
  baseline: string | null;
  /** While a gap is being filled from the stream, live events wait here. */
  held: StreamEvent[] | null;
};

const GAP_FILL_BATCH = 500;

/**
 * One Redis pub/sub connection per gateway replica (graphql-redis-subscriptions), one
 * SUBSCRIBE per topic however many sockets listen: each event arrives once per replica and
 * is handed to every local handler. When the connection drops, ioredis resubscribes; the
 * events published meanwhile are read back from the topic's stream, so a reconnect loses
 * nothing and repeats nothing.
 */
export function createEventBus(options: { redisUrl: string; redis: Redis; logger: Logger }): EventBus {
  const { redis, logger } = options;
  const subscriber = createRedis(options.redisUrl, "gateway-events");
  const pubsub = new RedisPubSub({ subscriber, publisher: redis });
  const topics = new Map<string, TopicState>();
  let connectedOnce = false;

  const deliver = (state: TopicState, event: StreamEvent) => {
    if (state.lastId && compareStreamIds(event.streamId, state.lastId) <= 0) return;
    state.lastId = event.streamId;
    for (const handler of state.handlers) {
      try {
        handler(event);
      } catch (error) {
        logger.error({ err: error }, "an event handler failed");
      }
    }
  };

  const onMessage = (topic: string) => (message: unknown) => {
    const state = topics.get(topic);
    const event = message as StreamEvent;
    if (!state || !event || !isStreamId(event.streamId)) return;
    if (state.held) state.held.push(event);
    else deliver(state, event);
  };

  async function fillGap(topic: string, state: TopicState): Promise<void> {
    state.held ??= [];
    try {
      let from = state.lastId ?? state.baseline;
      if (from) {
        for (;;) {
          const batch = await readTimelineEventsAfter(redis, state.streams, from, GAP_FILL_BATCH);
          from = batch.at(-1)?.streamId ?? from;
          for (const event of batch) deliver(state, event);
          if (batch.length < GAP_FILL_BATCH) break;
        }
      }
    } catch (error) {
      logger.error({ err: error, topic }, "could not read the events missed while Redis was unreachable");
    } finally {
      const held = state.held ?? [];
      state.held = null;
      for (const event of held) deliver(state, event);
    }
  }

  subscriber.on("ready", () => {
    if (!connectedOnce) {
      connectedOnce = true;
      return;
    }
    logger.info({ topics: topics.size }, "event bus reconnected; reading what was missed from the streams");
    for (const [topic, state] of topics) void fillGap(topic, state);
  });

  return {
    async subscribe(topic, handler) {
      let state = topics.get(topic);
      if (!state) {
        const streams = timelineTopics(topic);
        // One connection delivers a timeline's channels in publication order, which is its id order.
        const subscription = Promise.all(streams.map((stream) => pubsub.subscribe(`${EVENT_STREAM_PREFIX}${stream}`, onMessage(topic))));
        const created: TopicState = { handlers: new Set(), streams, subscription, lastId: null, baseline: null, held: null };
        state = created;
        topics.set(topic, created);
        created.subscription.catch(() => {
          if (topics.get(topic) === created) topics.delete(topic);
        });
      }
      state.handlers.add(handler);
      const current = state;
      try {
        await current.subscription;
      } catch (error) {
        current.handlers.delete(handler);
        throw error;
      }
      // The newest event so far, so that a reconnect can fill from here even if no event came yet.
      if (!current.baseline) {
        current.baseline = (await newestTimelineId(redis, current.streams)) ?? "0-0";
      }
      return () => {
        if (!current.handlers.delete(handler) || current.handlers.size > 0 || topics.get(topic) !== current) return;
        topics.delete(topic);
        void current.subscription.then((ids) => ids.forEach((id) => pubsub.unsubscribe(id))).catch(() => undefined);
      };
    },
    topicCount: () => topics.size,
    async close() {
      topics.clear();
      subscriber.disconnect();
    },
  };
}
