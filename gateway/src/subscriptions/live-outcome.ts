import type { GraphQLFormattedError } from "graphql";
import { ErrorCode, parseEvent, retryDelayMs, type Logger, type StreamEvent, type Viewer } from "@startales/service-kit";
import { EVENT_VARIABLES } from "./live-fields";
import type { LiveExecutor, LiveResult } from "./live-executor";
import type { LiveOperation, PreparedQuery } from "./live-operation";
import type { SubscriptionMetrics } from "./subscription-metrics";

/** Why a subscription was cut although its subscriber may go on: it resumes from its last event. */
export type InterruptionReason = "EVENT_UNAVAILABLE" | "BACKLOG";

/** What one event became for one group of subscribers. */
export type Outcome =
  | { kind: "next"; json: string }
  /** Nothing to send (gone from its owner, or a type the field does not deliver). */
  | { kind: "skip" }
  /** The subscriber may not go on (FORBIDDEN, UNAUTHENTICATED). */
  | { kind: "end"; errors: readonly GraphQLFormattedError[] }
  /** The event cannot be delivered now; sending anything after it would leave a hole. */
  | { kind: "interrupted"; reason: InterruptionReason; message: string };

export type EventRetry = { attempts: number; baseMs: number; maxMs: number };

/**
 * An outage of a few seconds (a pod restarting, a deploy) is ridden out; a longer one ends
 * the subscription, since the group's later events wait behind this one.
 */
export const DEFAULT_EVENT_RETRY: EventRetry = { attempts: 5, baseMs: 250, maxMs: 4_000 };

const ENDING_CODES = new Set<unknown>([ErrorCode.FORBIDDEN, ErrorCode.UNAUTHENTICATED]);
const RETRYABLE_CODES = new Set<unknown>([ErrorCode.SERVICE_UNAVAILABLE]);

const retryable = (result: LiveResult) => result.errors.some((e) => RETRYABLE_CODES.has(e.extensions?.code));

/** The query that turns this event into the subscriber's selection: its producer's, where the field names one. */
export const resolveQueryOf = (operation: LiveOperation, event: StreamEvent): PreparedQuery =>
  (event.producer ? operation.resolveBy.get(event.producer) : undefined) ?? operation.resolve;

/** An event resolved as one subscriber, and whether the answer is the same for all it may reach (LiveResult.shareable). */
export type Resolved = { outcome: Outcome; shareable: boolean };

export type EventResolver = (operation: LiveOperation, viewer: Viewer, event: StreamEvent) => Promise<Resolved>;

/**
 * Runs an event's resolve query as the subscriber. A result is never sent with the field
 * null (its type is non-null) and an event is never passed over while its owner is
 * unreachable: it is retried, and if it still cannot be resolved the subscription is
 * interrupted so that the client resumes from the last event it got.
 */
export function createEventResolver(deps: { execute: LiveExecutor; metrics: SubscriptionMetrics; logger: Logger; retry: EventRetry }): EventResolver {
  const { execute, metrics, logger, retry } = deps;
  return async (operation, viewer, event) => {
    const field = operation.field.field;
    const checked = parseEvent(event);
    if (!checked.ok) {
      // A producer's bug: counted and said loudly rather than resolved as if it were sound.
      metrics.rejected.inc({ field });
      logger.error({ field, streamId: event.streamId, type: event.type, topic: event.topic, error: checked.error }, "an event breaks its contract; its subscribers do not get it");
      return { outcome: { kind: "skip" }, shareable: true };
    }
    const query = resolveQueryOf(operation, event);
    const variables = { [EVENT_VARIABLES.eventId]: event.streamId, [EVENT_VARIABLES.aggregateId]: event.aggregateId };
    let result = await execute(query, viewer, variables);
    for (let attempt = 1; attempt <= retry.attempts && retryable(result); attempt++) {
      metrics.retries.inc({ field });
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt, retry)));
      result = await execute(query, viewer, variables);
    }
    metrics.executions.inc({ field });
    const rootErrors = result.errors.filter((e) => !e.path || e.path.length <= 1);
    if (rootErrors.some((e) => ENDING_CODES.has(e.extensions?.code))) return { outcome: { kind: "end", errors: rootErrors }, shareable: false };
    const root = result.data ? Object.values(result.data)[0] : null;
    if (root !== null && root !== undefined) {
      const json = JSON.stringify(result.errors.length ? { data: result.data, errors: result.errors } : { data: result.data });
      return { outcome: { kind: "next", json }, shareable: result.shareable };
    }
    if (result.errors.length === 0) {
      // Gone from the owner (trimmed, deleted) before it could be delivered.
      metrics.skipped.inc({ field });
      return { outcome: { kind: "skip" }, shareable: false };
    }
    metrics.unavailable.inc({ field });
    logger.warn({ field, streamId: event.streamId, producer: event.producer, codes: result.errors.map((e) => e.extensions?.code) }, "an event could not be resolved; its subscribers resume");
    // An outage is nobody's in particular: every subscriber of the group resumes.
    return { outcome: { kind: "interrupted", reason: "EVENT_UNAVAILABLE", message: "An event could not be delivered (the service that owns it is unavailable); resubscribe with after: lastEventId" }, shareable: true };
  };
}
