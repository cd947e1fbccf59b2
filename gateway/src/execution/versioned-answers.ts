import { addGauge, createTtlCache, sharedCounter, type CampaignVersions, type Metrics, type VersionedFeed, type Viewer } from "@startales/service-kit";
import type { AnswerDependency } from "../context";
import { selectionOf } from "./entity-cache";
import type { SubgraphResult } from "./plan-execution";
import { recordingHints, type CacheHint, type SubgraphMiddleware } from "./subgraph-middleware";

export type VersionedAnswerOptions = {
  /** The campaigns' versions as this gateway follows them (service-kit campaign-versions.ts, both feeds). */
  versions: Pick<CampaignVersions, "known" | "world" | "membership">;
  /** Answers kept at most (least recently used out first); 0 keeps none. */
  maxEntries: number;
  /** And at most about this many bytes of them (UTF-16 length of their JSON). */
  maxBytes: number;
  /** A bound on an answer's life whatever its versions: a missed publication, memory. */
  maxTtlMs: number;
  metrics?: Metrics;
};

type Dependency = AnswerDependency;
/** An answer as its subgraph gave it, serialized (every hit parses its own copy: the executor merges into it), with what it was computed from and what it told the response's cache policy. */
type Entry = { json: string; dependencies: Dependency[]; hints: CacheHint[] };

/** Fetches remembered per subgraph as ones it answers with versions; past this the set starts again. */
const MAX_VOUCHED_FETCHES = 10_000;

const DEPENDENCY = /^(world|campaign):([0-9a-f-]{36})=(\d{1,20}-\d{1,20})$/;

/** The subgraph's answer-versions header, or undefined when absent or not as subgraphs write it. */
export function parseAnswerVersions(header: string | undefined): Dependency[] | undefined {
  if (!header) return undefined;
  const dependencies: Dependency[] = [];
  for (const part of header.split(",")) {
    const match = DEPENDENCY.exec(part.trim());
    if (!match) return undefined;
    dependencies.push({ feed: match[1] as VersionedFeed, campaignId: match[2]!, version: match[3]! });
  }
  return dependencies.length > 0 ? dependencies : undefined;
}

/** Everything the identity the gateway signs for a subgraph says of the caller: who asks, with which roles and scopes. */
const callerOf = (viewer: Viewer) =>
  viewer.kind === "user" ? `${viewer.userId}|${viewer.roles.join(",")}|${viewer.scopes.join(",")}|${viewer.credential}|${viewer.apiKeyId ?? ""}` : "anonymous";

/**
 * Read models kept at the gateway until the game moves: a subgraph fetch whose answer the
 * subgraph named by the campaign feeds' versions it was computed from (service-kit
 * answer-versions.ts: the galaxy map, the leaderboard, a player's civilization) is kept per
 * subgraph, fetch (its selection and variables) and caller, and served again, without asking
 * the subgraph, for as long as this gateway knows every one of those versions to be current.
 * A tick is a new world version and a join, leave or kick a new membership version, each
 * published on Redis the moment it commits (campaign-versions.ts), so nothing is served past
 * the event that changed it; a version this gateway has not learnt or no longer trusts (its
 * publications missed, Redis away) is a miss. Kept per caller because the subgraph decided
 * access for that caller; another's would need its own decision.
 *
 * Apollo Router's entity caching keeps root fields too, by TTL and invalidation calls; here
 * the version is the invalidation, so an answer can be kept for a whole tick and not a moment
 * past it. In process, like the entity cache (entity-cache.ts): a hit must cost less than the
 * hop it saves. A request that must decide access afresh (a live re-authorization) reads
 * nothing from it.
 */
export function versionedAnswerMiddleware(options: VersionedAnswerOptions): SubgraphMiddleware {
  const { versions } = options;
  const cache = createTtlCache<Entry>({ maxEntries: Math.max(1, options.maxEntries), weigh: (entry) => entry.json.length, maxWeight: options.maxBytes });
  const lookups = options.metrics
    ? sharedCounter(options.metrics, {
        name: "gateway_versioned_answer_lookups_total",
        help: "Subgraph fetches the gateway answered from a kept answer (hit), sent because a version named by the kept one had moved or was not known (stale), or sent and then kept (stored)",
        labelNames: ["subgraph", "outcome"],
      })
    : undefined;
  if (options.metrics) {
    addGauge(options.metrics, { name: "gateway_versioned_answers_bytes", help: "Bytes (UTF-16 length of their JSON) of the subgraph answers the gateway keeps until their versions move", collect: () => cache.weight });
  }
  const current = (dependency: Dependency) => versions.known(dependency.feed, dependency.campaignId) === dependency.version;
  /** Each version as Redis has it now (one round trip per campaign not followed yet; publications keep it after). */
  const learnt = (dependency: Dependency) =>
    versions.known(dependency.feed, dependency.campaignId) ?? (dependency.feed === "world" ? versions.world(dependency.campaignId) : versions.membership(dependency.campaignId));

  /**
   * Per subgraph, the fetches (their selection, as in keys) it has answered with versions: only they
   * can have kept answers. A key holds the fetch's variables, an entity fetch's every
   * representation, so building one for a fetch no subgraph vouches for (an identity lookup,
   * any subgraph not following campaigns) was serialization thrown away on every call.
   */
  const vouched = new Map<string, Set<string>>();
  const keyOf = (call: Parameters<SubgraphMiddleware>[0], selection: string) =>
    `${call.subgraph}\0${selection}\0${JSON.stringify(call.request.variables ?? {})}\0${callerOf(call.scope.context.viewer)}`;

  return async (call, next) => {
    const { request } = call;
    if (options.maxEntries === 0 || /^\s*(mutation|subscription)\b/.test(request.query)) return next(call);
    const selection = selectionOf(request.query, request.operationName);
    const known = vouched.get(call.subgraph)?.has(selection) === true;
    const key = known ? keyOf(call, selection) : undefined;
    if (key !== undefined && !call.scope.context.revalidate) {
      const entry = cache.get(key);
      if (entry && entry.dependencies.every(current)) {
        lookups?.inc({ subgraph: call.subgraph, outcome: "hit" });
        for (const hint of entry.hints) call.scope.cachePolicy?.restrict(hint);
        return JSON.parse(entry.json) as SubgraphResult;
      }
      if (entry) lookups?.inc({ subgraph: call.subgraph, outcome: "stale" });
    }
    const hints: CacheHint[] = [];
    const received: { answerVersions?: string } = {};
    const result = await next({ ...call, received, scope: recordingHints(call.scope, hints) });
    const dependencies = parseAnswerVersions(received.answerVersions);
    call.scope.context.answerVersions?.record(result.errors?.length ? undefined : dependencies);
    if (!dependencies || result.errors?.length) return result;
    const storeKey = key ?? keyOf(call, selection);
    if (!known) {
      let selections = vouched.get(call.subgraph);
      // Bounded like the plans they come from: clients choose their operations' text.
      if (!selections || selections.size >= MAX_VOUCHED_FETCHES) vouched.set(call.subgraph, (selections = new Set()));
      selections.add(selection);
    }
    // Serialized now: the executor merges into the result once it is returned.
    const entry: Entry = { json: JSON.stringify(result), dependencies, hints };
    // Kept only if every version it was computed from is the current one: one that moved while
    // it was computed would make it stale from the start.
    void Promise.all(dependencies.map(learnt)).then(
      (now) => {
        if (dependencies.every((dependency, i) => now[i] === dependency.version)) {
          cache.set(storeKey, entry, options.maxTtlMs);
          lookups?.inc({ subgraph: call.subgraph, outcome: "stored" });
        }
      },
      () => undefined,
    );
    return result;
  };
}
