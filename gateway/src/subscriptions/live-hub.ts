import { createHash } from "node:crypto";
import {
  ErrorCode,
  appError,
  compareStreamIds,
  isStreamId,
  newestTimelineId,
  oldestStreamId,
  readTimelineEvent,
  readTimelineEventsAfter,
  timelineTopics,
  timelineTrimmedAfter,
  type Logger,
  type Redis,
  type StreamEvent,
  type Viewer,
} from "@startales/service-kit";
import type { EventBus } from "./event-bus";
import type { LiveExecutor } from "./live-executor";
import { FEED_START, Member, type LiveSink } from "./live-member";
import type { LiveOperation } from "./live-operation";
import { DEFAULT_EVENT_RETRY, createEventResolver, type EventRetry, type Outcome } from "./live-outcome";
import type { SubscriptionMetrics } from "./subscription-metrics";

export type { LiveSink } from "./live-member";

/** Subscribers with the same query, variables and authorization: one execution per event for all. */
class Group {
  readonly members = new Set<Member>();
  private queue: Promise<void> = Promise.resolve();
  /** Events waiting for their execution: bounded, so a flood cannot grow memory without end. */
  private pending = 0;
  /** Settles once the bus confirmed the topic's subscription. */
  ready: Promise<void> = Promise.resolve();
  unsubscribe: (() => void) | null = null;

  constructor(
    private readonly types: ReadonlySet<string> | null,
    private readonly run: (event: StreamEvent) => Promise<Outcome>,
    private readonly maxBacklog: number,
  ) {}

  enqueue(event: StreamEvent): void {
    if (this.types && !this.types.has(event.type)) return;
    if (this.pending >= this.maxBacklog) {
      // Events come faster than they can be resolved: rather than drop some silently, the
      // subscribers are told to resume (from their last event, which nothing skipped).
      const outcome: Outcome = { kind: "interrupted", reason: "BACKLOG", message: "Events arrive faster than they can be delivered; resubscribe with after: lastEventId" };
      for (const member of this.members) member.offer(event.streamId, outcome);
      return;
    }
    this.pending += 1;
    // In order, one at a time: subscribers see events in stream order, and an event being
    // retried holds back the ones after it.
    this.queue = this.queue.then(async () => {
      try {
        if (this.members.size === 0) return;
        const outcome = await this.run(event);
        for (const member of this.members) member.offer(event.streamId, outcome);
      } finally {
        this.pending -= 1;
      }
    });
  }
}

/**
 * Subscriptions share a group when their topic, queries (with variables) and authorization
 * scope are the same; the topic too, as one resolve query can serve different feeds
 * ({viewerId}, arguments not in it).
 */
function groupKey(operation: LiveOperation, scopeKey: string): string {
  const hash = createHash("sha256").update(operation.topic);
  for (const query of [operation.resolve, ...operation.resolveBy.values()]) hash.update("\0").update(query.query).update("\0").update(JSON.stringify(query.variables));
  return hash.update("\0").update(scopeKey).digest("hex");
}

export type LiveHub = {
  /**
   * Authorizes, then starts delivering to `sink`; with `after`, replays the missed events
   * first. Throws a GraphQL error (with its code) when the subscription is refused.
   */
  subscribe(operation: LiveOperation, viewer: Viewer, scopeKey: string, sink: LiveSink): Promise<() => void>;
  groupCount(): number;
};

/**
 * The fan-out: events from the bus are turned into results once per group of identical
 * subscriptions (same resolve query, variables and authorization scope), serialized once,
 * and handed to every member; per-event authorization comes from running the query as the
 * subscriber, so a player who lost access gets FORBIDDEN and their subscription ends.
 */
export function createLiveHub(deps: {
  bus: EventBus;
  redis: Redis;
  execute: LiveExecutor;
  metrics: SubscriptionMetrics;
  logger: Logger;
  replayBatch: number;
  /** At most this many missed events are replayed; further behind, the client refetches (RESUME_POINT_EXPIRED). */
  maxReplay: number;
  /** Events queued per group before its subscribers are told to resume (see Group.enqueue). */
  maxBacklog: number;
  /** How an event whose owner is unavailable is retried before its subscribers are told to resume. */
  retry?: EventRetry;
}): LiveHub {
  const { bus, redis, execute, metrics } = deps;
  const groups = new Map<string, Group>();
  const outcomeOf = createEventResolver({ execute, metrics, logger: deps.logger, retry: deps.retry ?? DEFAULT_EVENT_RETRY });

  async function authorize(operation: LiveOperation, viewer: Viewer): Promise<void> {
    if (!operation.authorize) return;
    const result = await execute(operation.authorize, viewer);
    const [error] = result.errors;
    if (error) throw appError((error.extensions?.code as ErrorCode | undefined) ?? ErrorCode.INTERNAL_SERVER_ERROR, error.message);
    const root = result.data ? Object.values(result.data)[0] : null;
    if (root === null || root === undefined) throw appError(ErrorCode.NOT_FOUND, `Nothing to subscribe to: ${operation.topic.split(":")[0]} not found`);
  }

  async function checkResumePoint(operation: LiveOperation, after: string): Promise<void> {
    if (!isStreamId(after)) throw appError(ErrorCode.BAD_USER_INPUT, "after is not an event id");
    // The lastEventId of a subscription cut before its feed had any event.
    if (after === FEED_START) return;
    // A feed may be a timeline of several topics (campaign:<id> with world:<id>): `after` is in one of them.
    const streams = timelineTopics(operation.topic);
    const found = await readTimelineEvent(redis, streams, after);
    const trimmed = await timelineTrimmedAfter(redis, streams, after);
    if (found && !trimmed) return;
    // Not there: gone if older than everything kept (or nothing is kept: Redis lost its data).
    const oldest = (await Promise.all(streams.map((topic) => oldestStreamId(redis, topic)))).filter((id): id is string => id !== null).sort(compareStreamIds)[0];
    if (trimmed || !oldest || compareStreamIds(after, oldest) < 0) {
      throw appError(ErrorCode.NOT_FOUND, "The events after this one are no longer kept: refetch by query, then subscribe without after", {
        reason: "RESUME_POINT_EXPIRED",
      });
    }
    throw appError(ErrorCode.BAD_USER_INPUT, "after is not an event of this feed");
  }

  /** The missed events, executed for this subscriber alone, until the stream is caught up; then live. */
  async function replay(operation: LiveOperation, viewer: Viewer, member: Member): Promise<void> {
    const types = operation.field.types;
    let replayed = 0;
    for (;;) {
      const batch = await readTimelineEventsAfter(redis, timelineTopics(operation.topic), member.cursor, deps.replayBatch);
      for (const event of batch) {
        if (member.ended) return;
        // Each replayed event is a query run for this subscriber alone: far behind, a fresh read is cheaper.
        if (++replayed > deps.maxReplay) {
          throw appError(ErrorCode.NOT_FOUND, `More than ${deps.maxReplay} events were missed: refetch by query, then subscribe from latestEventId`, {
            reason: "RESUME_POINT_EXPIRED",
          });
        }
        const outcome = types && !types.has(event.type) ? ({ kind: "skip" } as const) : await outcomeOf(operation, viewer, event);
        member.apply(event.streamId, outcome);
        metrics.replayed.inc({ field: operation.field.field });
      }
      if (batch.length < deps.replayBatch) break;
    }
    member.goLive();
  }

  return {
    async subscribe(operation, viewer, scopeKey, sink) {
      await authorize(operation, viewer);
      if (operation.after) await checkResumePoint(operation, operation.after);
      // Without `after`, the feed as it stands now is the resume point should the subscription be cut.
      const start = operation.after ?? (await newestTimelineId(redis, timelineTopics(operation.topic))) ?? FEED_START;
      const key = groupKey(operation, scopeKey);
      let group = groups.get(key);
      if (!group) {
        const created = new Group(operation.field.types, (event) => outcomeOf(operation, viewer, event), deps.maxBacklog);
        groups.set(key, created);
        created.ready = bus.subscribe(operation.topic, (event) => created.enqueue(event)).then((unsubscribe) => {
          // Everyone left while Redis was confirming.
          if (groups.get(key) === created) created.unsubscribe = unsubscribe;
          else unsubscribe();
        });
        created.ready.catch(() => {
          if (groups.get(key) === created) groups.delete(key);
        });
        group = created;
      }
      const member = new Member(sink, start, operation.after !== null);
      group.members.add(member);
      const leave = () => {
        member.ended = true;
        const current = groups.get(key);
        if (!current?.members.delete(member) || current.members.size > 0) return;
        groups.delete(key);
        current.unsubscribe?.();
      };
      try {
        await group.ready;
        if (operation.after) await replay(operation, viewer, member);
      } catch (error) {
        leave();
        throw error;
      }
      return leave;
    },
    groupCount: () => groups.size,
  };
}
