import type { GraphQLFormattedError } from "graphql";
import { ErrorCode, compareStreamIds } from "@startales/service-kit";
import type { Outcome } from "./live-outcome";

/** Where a subscription's results go: one graphql-ws subscription on one socket. */
export type LiveSink = {
  /** The serialized `payload` of a `next` message (serialized once for every sink of a group). */
  next(payloadJson: string): void;
  /** Ends the subscription with an `error` message (not allowed any more, or it cannot go on). */
  fail(errors: readonly GraphQLFormattedError[]): void;
};

/**
 * The resume point of a feed that had no event yet when the subscriber came: resuming from it
 * replays the feed from its start. Below every real stream id.
 */
export const FEED_START = "0-0";

/**
 * One subscriber of a group: events reach it in stream order, each at most once, and when
 * the group cannot deliver one, it is told the last event it got, so that resuming from
 * there (`after`) leaves no hole.
 */
export class Member {
  /**
   * The newest event given to this subscriber (or passed over as not its to see), or where
   * the feed stood when it subscribed: older events are never sent, and a resume starts here.
   */
  cursor: string;
  /** Live outcomes that arrived while the missed events were replayed; null once live. */
  private held: { streamId: string; outcome: Outcome }[] | null;
  ended = false;

  constructor(
    readonly sink: LiveSink,
    start: string,
    replaying: boolean,
  ) {
    this.cursor = start;
    this.held = replaying ? [] : null;
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
    if (this.ended || compareStreamIds(streamId, this.cursor) <= 0) return;
    switch (outcome.kind) {
      case "next":
        this.cursor = streamId;
        this.sink.next(outcome.json);
        return;
      case "skip":
        this.cursor = streamId;
        return;
      case "end":
      case "interrupted":
        this.cut(outcome);
        return;
    }
  }

  /**
   * Ends the subscription now, whichever event it is at: refused (its access was checked
   * again and is gone), or interrupted. The cursor stays before any event not sent: it is
   * the first one the client has not had.
   */
  cut(outcome: Extract<Outcome, { kind: "end" | "interrupted" }>): void {
    if (this.ended) return;
    if (outcome.kind === "end") this.end(outcome.errors);
    else this.end([{ message: outcome.message, extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, reason: outcome.reason, lastEventId: this.cursor } }]);
  }

  goLive(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const { streamId, outcome } of held) this.apply(streamId, outcome);
  }

  private end(errors: readonly GraphQLFormattedError[]): void {
    this.ended = true;
    this.sink.fail(errors);
  }
}
