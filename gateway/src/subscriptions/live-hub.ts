import { createHash } from "node:crypto";
import {
  ErrorCode,
  appError,
  changesAccess,
  compareStreamIds,
  isStreamId,
  newestTimelineId,
  oldestStreamId,
  readTimelineEvent,
  readTimelineEventsAfter,
  timelineTopics,
  timelineTrimmedAfter,
  type CampaignVersions,
  type Logger,
  type Redis,
  type StreamEvent,
  type Viewer,
} from "@startales/service-kit";
import type { AnswerDependency } from "../context";
import type { EventBus } from "./event-bus";
import type { LiveExecutor } from "./live-executor";
import { FEED_START, Member, type LiveSink } from "./live-member";
import type { LiveOperation } from "./live-operation";
import { DEFAULT_EVENT_RETRY, createEventResolver, type EventRetry, type Outcome } from "./live-outcome";
import type { SubscriptionMetrics } from "./subscription-metrics";

export type { LiveSink } from "./live-member";

/**
 * How old a subscriber's authorization may get before an event refreshes it ahead of need:
 * its own point between half and nine tenths of `reauthorizeMs`. Subscribers that joined
 * together (a campaign starting, every socket reconnecting after a gateway restart) would
 * otherwise all be checked again on the same event, a burst of requests to the subgraphs
 * every half window that the deliveries behind it wait for.
 */
export function refreshAheadAge(reauthorizeMs: number, random: () => number = Math.random): number {
  return reauthorizeMs * (0.5 + 0.4 * random());
}

/** One subscription of a group, with what its authorization rests on. */
class Subscriber {
  /** When its access to the feed was last confirmed as itself (at subscribe, or an answer of its own). */
  authorizedAt = Date.now();
  /** When its authorize query was last answered by the subgraphs (stillCurrent), and the campaign versions that answer named (null: none). */
  checkedAt = Date.now();
  checkedWith: AnswerDependency[] | null = null;
  /** The age at which an event refreshes its authorization ahead (refreshAheadAge). */
  readonly refreshAfterMs: number;
  /** Deliveries waiting behind a check of its access, in order; null when none is pending. */
  private chain: Promise<void> | null = null;
  checking = false;

  constructor(
    readonly member: Member,
    readonly viewer: Viewer,
    /** Who it is (authorizationScope): subscribers with the same key get the same answers. */
    readonly userKey: string,
    reauthorizeMs: number,
  ) {
    this.refreshAfterMs = refreshAheadAge(reauthorizeMs);
  }

  /** Gives it an outcome in order: after any check of its access still running. */
  offer(streamId: string, outcome: Outcome): void {
    if (!this.chain) return this.member.offer(streamId, outcome);
    this.chain = this.chain.then(() => this.member.offer(streamId, outcome));
  }

  /** Runs `check` now; outcomes offered from here on wait for it. */
  checkFirst(check: () => Promise<void>): void {
    this.checking = true;
    const running = check().finally(() => {
      this.checking = false;
    });
    const chain: Promise<void> = (this.chain ?? Promise.resolve()).then(() => running).finally(() => {
      if (this.chain === chain) this.chain = null;
    });
    this.chain = chain;
  }
}

/**
 * Subscribers with the same query, variables and authorization class: one execution per event
 * for all whose answers are the same (shared), else one per user (see deliver in createLiveHub).
 */
/** What an event became for a group, handed to its members when the events before it have been. */
type Delivery = () => void | Promise<void>;

/** Events of one group resolved at the same time: enough to keep a busy channel's subgraph calls overlapping, few enough not to flood them. */
const GROUP_CONCURRENCY = 16;

class Group {
  readonly members = new Set<Subscriber>();
  private queue: Promise<void> = Promise.resolve();
  /** Events waiting for their delivery: bounded, so a flood cannot grow memory without end. */
  private pending = 0;
  private resolving = 0;
  private readonly slots: (() => void)[] = [];
  /** Settles once the bus confirmed the topic's subscription. */
  ready: Promise<void> = Promise.resolve();
  unsubscribe: (() => void) | null = null;

  constructor(
    private readonly types: ReadonlySet<string> | null,
    private readonly resolve: (group: Group, event: StreamEvent) => Promise<Delivery>,
    private readonly maxBacklog: number,
    /** Whether an event is first resolved once for everyone; false once an answer said it depends on who asks. */
    public sharing: boolean,
  ) {}

  enqueue(event: StreamEvent): void {
    if (this.types && !this.types.has(event.type)) return;
    if (this.pending >= this.maxBacklog) {
      // Events come faster than they can be resolved: rather than drop some silently, the
      // subscribers are told to resume (from their last event, which nothing skipped).
      const outcome: Outcome = { kind: "interrupted", reason: "BACKLOG", message: "Events arrive faster than they can be delivered; resubscribe with after: lastEventId" };
      for (const subscriber of this.members) subscriber.offer(event.streamId, outcome);
      return;
    }
    this.pending += 1;
    // Resolved side by side (an event's subgraph calls take longer than its share of a busy
    // channel's time), delivered in order: subscribers see events in stream order, and an
    // event being retried holds back the ones after it.
    const delivery = this.resolveInTurn(event);
    this.queue = this.queue.then(async () => {
      try {
        await (await delivery)();
      } finally {
        this.pending -= 1;
      }
    });
  }

  private async resolveInTurn(event: StreamEvent): Promise<Delivery> {
    // A finished resolution hands its slot to the next waiting one, so an event arriving in
    // between cannot take it as well and push the group past GROUP_CONCURRENCY.
    if (this.resolving >= GROUP_CONCURRENCY) await new Promise<void>((resolve) => this.slots.push(resolve));
    else this.resolving += 1;
    try {
      return this.members.size > 0 ? await this.resolve(this, event) : () => undefined;
    } finally {
      const next = this.slots.shift();
      if (next) next();
      else this.resolving -= 1;
    }
  }
}

/**
 * Subscriptions share a group when their topic, queries (with variables) and `scopeKey` are
 * the same; the topic too, as one resolve query can serve different feeds ({viewerId},
 * arguments not in it), and the authorize query, which checks each member as itself.
 */
function groupKey(operation: LiveOperation, scopeKey: string): string {
  const hash = createHash("sha256").update(operation.topic);
  const queries = [operation.resolve, ...operation.resolveBy.values(), ...(operation.authorize ? [operation.authorize] : [])];
  for (const query of queries) hash.update("\0").update(query.query).update("\0").update(JSON.stringify(query.variables));
  return hash.update("\0").update(scopeKey).digest("hex");
}

/** Subscribers with the same identity and authorization get the same answers; any difference splits them. */
export const authorizationScope = (viewer: Viewer): string =>
  viewer.kind === "user" ? [viewer.userId, authorizationClass(viewer)].join("|") : "anonymous";

/**
 * What a field's authorization can depend on besides who the subscriber is (roles, scopes, the
 * kind of credential): subscribers of one class may share an answer that every one of them
 * is allowed, each being authorized as themself.
 */
export const authorizationClass = (viewer: Viewer): string =>
  viewer.kind === "user" ? [[...viewer.roles].sort().join(","), [...viewer.scopes].sort().join(","), viewer.credential].join("|") : "anonymous";

export type LiveHub = {
  /**
   * Authorizes, then starts delivering to `sink`; with `after`, replays the missed events
   * first. Throws a GraphQL error (with its code) when the subscription is refused.
   */
  subscribe(operation: LiveOperation, viewer: Viewer, sink: LiveSink): Promise<() => void>;
  groupCount(): number;
};

const REFUSING_CODES = new Set<unknown>([ErrorCode.FORBIDDEN, ErrorCode.UNAUTHENTICATED, ErrorCode.NOT_FOUND]);

/**
 * The fan-out: events from the bus are turned into results once per group, serialized once,
 * and handed to every member.
 *
 * A group holds the subscriptions with the same resolve queries, variables and authorization
 * class. Where the field has an `authorize` check, an event is first resolved as one member:
 * if every subgraph says that answer is the same for everyone its fields let through (a public
 * Cache-Control, service-kit cache-hints.ts), every member gets it, each authorized as
 * themself by the field's `authorize` query, again whenever that is `reauthorizeMs` old
 * (refreshed ahead, at an age of its own between half and nine tenths of that, so a delivery
 * rarely waits for it and subscribers that joined together are not all checked at once). Otherwise, and for
 * fields without `authorize`, each user's subscriptions get an answer run as that user, so a
 * player who lost access gets FORBIDDEN and their subscription ends.
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
  /** How old a shared subscriber's authorization may be before it is checked again (0: before every event). */
  reauthorizeMs: number;
  /** How an event whose owner is unavailable is retried before its subscribers are told to resume. */
  retry?: EventRetry;
  /**
   * The campaign versions as this gateway follows them (the kept answers' follower): a check
   * whose last answer named versions that are all still current is confirmed without asking.
   */
  versions?: Pick<CampaignVersions, "known">;
  /** However current its versions, a subscriber's authorize query is asked again at least this often. */
  maxUncheckedMs?: number;
}): LiveHub {
  const { bus, redis, execute, metrics, reauthorizeMs } = deps;
  const maxUncheckedMs = deps.maxUncheckedMs ?? 0;
  const groups = new Map<string, Group>();
  const outcomeOf = createEventResolver({ execute, metrics, logger: deps.logger, retry: deps.retry ?? DEFAULT_EVENT_RETRY });

  /** The field's authorize query as `viewer`, afresh; the campaign versions its answer named (null: none). */
  async function authorize(operation: LiveOperation, viewer: Viewer): Promise<AnswerDependency[] | null> {
    if (!operation.authorize) return null;
    // Afresh: subgraphs that keep who may read (per membership version) ask the owner now.
    const result = await execute(operation.authorize, viewer, {}, { revalidate: true, versions: true });
    const [error] = result.errors;
    if (error) throw appError((error.extensions?.code as ErrorCode | undefined) ?? ErrorCode.INTERNAL_SERVER_ERROR, error.message);
    const root = result.data ? Object.values(result.data)[0] : null;
    if (root === null || root === undefined) throw appError(ErrorCode.NOT_FOUND, `Nothing to subscribe to: ${operation.topic.split(":")[0]} not found`);
    return result.versions ?? null;
  }

  /**
   * Whether a subscriber's last answered check still stands: every campaign version it was
   * computed from (a membership, the campaign's feed) is the one this gateway knows to be
   * current, and it is younger than maxUncheckedMs. A join, leave or kick moves the version,
   * so the next check asks; a version not known (publications missed, Redis away) asks too.
   */
  function stillCurrent(subscriber: Subscriber): boolean {
    const versions = deps.versions;
    const named = subscriber.checkedWith;
    if (!versions || !named || named.length === 0 || Date.now() - subscriber.checkedAt >= maxUncheckedMs) return false;
    return named.every((dependency) => versions.known(dependency.feed, dependency.campaignId) === dependency.version);
  }

  /**
   * Checks a shared subscriber's access again, as itself; refused or unknowable, it ends. Its
   * last answer is confirmed without asking while the versions it named are current, except
   * for an event that may have taken access away (`recheck`), and never when every event must
   * be checked afresh (reauthorizeMs 0).
   */
  async function reauthorize(operation: LiveOperation, subscriber: Subscriber, recheck: boolean): Promise<void> {
    const field = operation.field.field;
    if (!recheck && reauthorizeMs > 0 && stillCurrent(subscriber)) {
      subscriber.authorizedAt = Date.now();
      metrics.reauthorizations.inc({ field, outcome: "unchanged" });
      return;
    }
    try {
      subscriber.checkedWith = await authorize(operation, subscriber.viewer);
      subscriber.authorizedAt = subscriber.checkedAt = Date.now();
      metrics.reauthorizations.inc({ field, outcome: "allowed" });
    } catch (error) {
      const code = (error as { extensions?: { code?: unknown } }).extensions?.code;
      if (REFUSING_CODES.has(code)) {
        metrics.reauthorizations.inc({ field, outcome: "refused" });
        subscriber.member.cut({ kind: "end", errors: [{ message: (error as Error).message, extensions: { code } }] });
        return;
      }
      metrics.reauthorizations.inc({ field, outcome: "unavailable" });
      deps.logger.warn({ field, err: error }, "a subscriber's access could not be checked again; it resumes");
      subscriber.member.cut({
        kind: "interrupted",
        reason: "EVENT_UNAVAILABLE",
        message: "Your access to this feed could not be checked (a service is unavailable); resubscribe with after: lastEventId",
      });
    }
  }

  /**
   * A shared answer for one subscriber: now if its authorization is fresh, else once it is
   * confirmed; `recheck` (the event may have taken access away) confirms it first whatever its age.
   */
  function offerShared(operation: LiveOperation, subscriber: Subscriber, streamId: string, outcome: Outcome, recheck: boolean): void {
    // A check already running may have started before this event: a recheck runs its own.
    if (outcome.kind === "next" && (recheck || !subscriber.checking)) {
      const age = recheck ? Infinity : Date.now() - subscriber.authorizedAt;
      if (age >= reauthorizeMs) subscriber.checkFirst(() => reauthorize(operation, subscriber, recheck));
      else if (age >= subscriber.refreshAfterMs) {
        subscriber.offer(streamId, outcome);
        subscriber.checkFirst(() => reauthorize(operation, subscriber, false));
        return;
      }
    }
    subscriber.offer(streamId, outcome);
  }

  /**
   * One event for one group: resolved once for all where the answer allows, else once per
   * user; what to hand each member once the events before it have been.
   */
  async function resolveFor(operation: LiveOperation, group: Group, event: StreamEvent): Promise<Delivery> {
    // Who the event is run as: a subscriber still open (one just refused may not have left yet).
    let first: Subscriber | undefined;
    for (const subscriber of group.members) {
      if (subscriber.member.ended) continue;
      first = subscriber;
      break;
    }
    if (!first) return () => undefined;
    const answered = new Map<string, Outcome>();
    if (group.sharing) {
      const { outcome, shareable } = await outcomeOf(operation, first.viewer, event);
      if (shareable) {
        // The resolve query's own authorization let the first one through.
        if (outcome.kind === "next") first.authorizedAt = Date.now();
        const recheck = changesAccess(event.topic, event.type);
        const resolvedAs = first;
        return () => {
          for (const subscriber of group.members) offerShared(operation, subscriber, event.streamId, outcome, recheck && subscriber !== resolvedAs);
        };
      }
      // A full answer that is not public will not become so: this selection depends on who asks.
      if (outcome.kind === "next") group.sharing = false;
      answered.set(first.userKey, outcome);
    }
    const byUser = new Map<string, Subscriber[]>();
    for (const subscriber of group.members) {
      if (subscriber.member.ended) continue;
      const ofUser = byUser.get(subscriber.userKey);
      if (ofUser) ofUser.push(subscriber);
      else byUser.set(subscriber.userKey, [subscriber]);
    }
    const resolveUser = async (subscriber: Subscriber) => (await outcomeOf(operation, subscriber.viewer, event)).outcome;
    await Promise.all([...byUser].map(async ([userKey, subscribers]) => answered.set(userKey, answered.get(userKey) ?? (await resolveUser(subscribers[0]!)))));
    return async () => {
      for (const subscriber of group.members) {
        if (subscriber.member.ended) continue;
        // A user who subscribed while this event was being resolved gets their own answer now.
        if (!answered.has(subscriber.userKey)) answered.set(subscriber.userKey, await resolveUser(subscriber));
        subscriber.offer(event.streamId, answered.get(subscriber.userKey)!);
      }
    };
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
        const outcome = types && !types.has(event.type) ? ({ kind: "skip" } as const) : (await outcomeOf(operation, viewer, event)).outcome;
        member.apply(event.streamId, outcome);
        metrics.replayed.inc({ field: operation.field.field });
      }
      if (batch.length < deps.replayBatch) break;
    }
    member.goLive();
  }

  return {
    async subscribe(operation, viewer, sink) {
      const checkedWith = await authorize(operation, viewer);
      if (operation.after) await checkResumePoint(operation, operation.after);
      // Without `after`, the feed as it stands now is the resume point should the subscription be cut.
      const start = operation.after ?? (await newestTimelineId(redis, timelineTopics(operation.topic))) ?? FEED_START;
      // Only a field that can check each subscriber's access on its own may share answers among users.
      const sharing = operation.authorize !== null;
      const key = groupKey(operation, sharing ? `class:${authorizationClass(viewer)}` : `user:${authorizationScope(viewer)}`);
      let group = groups.get(key);
      if (!group) {
        const created = new Group(operation.field.types, (target, event) => resolveFor(operation, target, event), deps.maxBacklog, sharing);
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
      const subscriber = new Subscriber(member, viewer, authorizationScope(viewer), reauthorizeMs);
      subscriber.checkedWith = checkedWith;
      group.members.add(subscriber);
      const leave = () => {
        member.ended = true;
        const current = groups.get(key);
        if (!current?.members.delete(subscriber) || current.members.size > 0) return;
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
