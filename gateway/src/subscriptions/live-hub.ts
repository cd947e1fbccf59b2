import { createHash } from "node:crypto";
import type { GraphQLFormattedError } from "graphql";
import {
  ErrorCode,
  appError,
  compareStreamIds,
  isStreamId,
  oldestStreamId,
  readStreamEvent,
  readStreamEventsAfter,
  type Logger,
  type Redis,
  type StreamEvent,
  type Viewer,
} from "@startales/service-kit";
import type { EventBus } from "./event-bus";
import { EVENT_VARIABLES } from "./live-fields";
import type { LiveExecutor } from "./live-executor";
import type { LiveOperation } from "./live-operation";
import type { SubscriptionMetrics } from "./subscription-metrics";

/** Where a subscription's results go: one graphql-ws subscription on one socket. */
export type LiveSink = {
  /** The serialized `payload` of a `next` message (serialized once for every sink of a group). */
  next(payloadJson: string): void;
  /** Ends the subscription with an `error` message (not allowed any more, or it cannot go on). */
  fail(errors: readonly GraphQLFormattedError[]): void;
};

/** What one event became for one group: sent, skipped, or the end of the subscription. */
type Outcome = { kind: "next"; json: string } | { kind: "skip" } | { kind: "end"; errors: readonly GraphQLFormattedError[] };

const ENDING_CODES = new Set<unknown>([ErrorCode.FORBIDDEN, ErrorCode.UNAUTHENTICATED]);
const RETRYABLE_CODES = new Set<unknown>([ErrorCode.SERVICE_UNAVAILABLE]);
const RETRY_DELAYS_MS = [100, 400, 1_600];

class Member {
  /** The newest event this subscriber was given (or skipped); older ones are never sent again. */
  cursor: string | null;
  /** Live outcomes that arrived while the missed events were replayed; null once live. */
  held: { streamId: string; outcome: Outcome }[] | null;
  ended = false;

  constructor(
    readonly sink: LiveSink,
    after: string | null,
  ) {
    this.cursor = after;
    this.held = after ? [] : null;
  }

  offer(streamId: string, outcome: Outcome): void {
    if (this.ended) return;
    if (this.held) {
      this.held.push({ streamId, outcome });
      return;
    }
    this.apply(streamId, outcome);
  }

  apply(streamId: string, outcome: Outcome): void {
    if (this.ended || (this.cursor && compareStreamIds(streamId, this.cursor) <= 0)) return;
    this.cursor = streamId;
    if (outcome.kind === "next") this.sink.next(outcome.json);
    else if (outcome.kind === "end") {
      this.ended = true;
      this.sink.fail(outcome.errors);
    }
  }

  goLive(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const { streamId, outcome } of held) this.apply(streamId, outcome);
  }
}

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
      const errors = [{ message: "Events arrive faster than they can be delivered; resubscribe with after", extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, reason: "BACKLOG" } }];
      for (const member of this.members) member.offer(event.streamId, { kind: "end", errors });
      return;
    }
    this.pending += 1;
    // In order, one at a time: subscribers see events in stream order.
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
}): LiveHub {
  const { bus, redis, execute, metrics, logger } = deps;
  const groups = new Map<string, Group>();

  async function outcomeOf(operation: LiveOperation, viewer: Viewer, event: StreamEvent): Promise<Outcome> {
    const variables = { [EVENT_VARIABLES.eventId]: event.streamId, [EVENT_VARIABLES.aggregateId]: event.aggregateId };
    let result = await execute(operation.resolve, viewer, variables);
    for (const delay of RETRY_DELAYS_MS) {
      if (!result.errors.some((e) => RETRYABLE_CODES.has(e.extensions?.code))) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
      result = await execute(operation.resolve, viewer, variables);
    }
    metrics.executions.inc({ field: operation.field.field });
    const rootErrors = result.errors.filter((e) => !e.path || e.path.length <= 1);
    if (rootErrors.some((e) => ENDING_CODES.has(e.extensions?.code))) return { kind: "end", errors: rootErrors };
    const data = result.data;
    const root = data ? Object.values(data)[0] : null;
    if (root === null || root === undefined) {
      if (result.errors.length === 0) {
        // Gone from the owner (trimmed, deleted) before it could be delivered.
        metrics.skipped.inc({ field: operation.field.field });
        return { kind: "skip" };
      }
      logger.warn({ field: operation.field.field, streamId: event.streamId, codes: result.errors.map((e) => e.extensions?.code) }, "an event could not be resolved");
    }
    return { kind: "next", json: JSON.stringify(result.errors.length ? { data, errors: result.errors } : { data }) };
  }

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
    if (await readStreamEvent(redis, operation.topic, after)) return;
    const oldest = await oldestStreamId(redis, operation.topic);
    if (!oldest || compareStreamIds(after, oldest) < 0) {
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
      const batch = await readStreamEventsAfter(redis, operation.topic, member.cursor!, deps.replayBatch);
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
      // The topic too: one resolve query can serve different feeds ({viewerId}, arguments not in it).
      const key = createHash("sha256")
        .update(operation.topic)
        .update("\0")
        .update(operation.resolve.query)
        .update("\0")
        .update(JSON.stringify(operation.resolve.variables))
        .update("\0")
        .update(scopeKey)
        .digest("hex");
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
      const member = new Member(sink, operation.after);
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
