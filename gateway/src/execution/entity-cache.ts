import type { GraphQLFormattedError } from "graphql";
import { createTtlCache, sharedCounter, type Metrics } from "@startales/service-kit";
import type { SubgraphResult } from "./plan-execution";
import { recordingHints, type CacheHint, type SubgraphMiddleware } from "./subgraph-middleware";

export type EntityCacheOptions = {
  /**
   * The entity types whose shareable answers may be served to another caller. A type belongs
   * here only if its subgraph resolves a reference to it the same way for every caller the
   * gateway lets through (no per-caller check in `__resolveReference`), and marks every field
   * that depends on who asks PRIVATE (identity's User: its email), which keeps that answer out.
   */
  types: ReadonlySet<string>;
  maxEntries: number;
  /** An upper bound on how long an entity is kept, whatever max-age its subgraph gave. */
  maxTtlMs: number;
  metrics?: Metrics;
  now?: () => number;
};

type Data = Record<string, unknown>;

/**
 * An entity with less than this left of its max-age is fetched again rather than served: what
 * a hit tells the response is its whole seconds left, and an answer "max-age=0" is one nobody
 * may share, so the gateway would stop sharing a subscription's executions among its members
 * (live-hub.ts) for good because an author's entry was in its last second.
 */
const MIN_LEFT_MS = 1_000;
/** Fetches remembered per subgraph as ones with kept entities; past this the set starts again. */
const MAX_KEPT_FETCHES = 10_000;
/** An entity as its subgraph answered it, serialized: every hit parses its own copy (the executor merges into what it gets). */
type Entry = { json: string; expiresAt: number };

const isObject = (value: unknown): value is Data => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The gateway's entity cache (Apollo Router's entity caching, in process): the answers of
 * `_entities` fetches for the listed types are kept per subgraph, fetch (its selection and
 * other variables) and representation, for as long as the subgraph's `Cache-Control` said
 * (`public, max-age=N`, at most `maxTtlMs`). A fetch whose entities are all kept goes nowhere;
 * one with some kept asks its subgraph for the others only. An answer with errors, `private`
 * or without a max-age is not kept. A request that must decide access afresh (a live
 * re-authorization) reads nothing from it.
 *
 * Why in process and not in Redis as well: a hit must cost less than the hop it saves, and a
 * Redis round trip is a third of a loopback subgraph fetch; a gateway replica keeps the
 * entities its own clients ask for, and the subgraph answers each replica's first miss.
 */
export function entityCacheMiddleware(options: EntityCacheOptions): SubgraphMiddleware {
  const now = options.now ?? Date.now;
  const cache = createTtlCache<Entry>({ maxEntries: options.maxEntries, now });
  const lookups = options.metrics
    ? sharedCounter(options.metrics, {
        name: "gateway_entity_cache_lookups_total",
        help: "Entities of cacheable types the gateway needed, by subgraph and whether its entity cache had them (hit) or the subgraph was asked (miss)",
        labelNames: ["subgraph", "outcome"],
      })
    : undefined;

  const cacheable = (rep: unknown) => isObject(rep) && typeof rep.__typename === "string" && options.types.has(rep.__typename);
  /**
   * Per subgraph, the fetches (their selection, as in keys) that have had an entity kept: only they
   * can be served from here. A key serializes the fetch's other variables and its
   * representation, so a fetch whose answers were never shareable (no max-age, private) is
   * passed on without building any, and its keys are made only if an answer is kept.
   */
  const keptFetches = new Map<string, Set<string>>();
  const rememberKept = (subgraph: string, selection: string) => {
    let selections = keptFetches.get(subgraph);
    // Bounded like the plans they come from: clients choose their operations' text.
    if (!selections || selections.size >= MAX_KEPT_FETCHES) keptFetches.set(subgraph, (selections = new Set()));
    selections.add(selection);
  };

  return async (call, next) => {
    const { representations, ...others } = call.request.variables;
    if (options.types.size === 0 || !Array.isArray(representations)) return next(call);
    const wanted = representations.map(cacheable);
    const asking = wanted.filter(Boolean).length;
    if (asking === 0) return next(call);
    const selection = selectionOf(call.request.query, call.request.operationName);
    const prefixOf = () => `${call.subgraph}\0${selection}\0${JSON.stringify(others)}\0`;

    if (keptFetches.get(call.subgraph)?.has(selection) !== true) {
      lookups?.inc({ subgraph: call.subgraph, outcome: "miss" }, asking);
      const hints: CacheHint[] = [];
      const response = await next({ ...call, scope: recordingHints(call.scope, hints) });
      const received = response.data?._entities;
      const ttlMs = shareableFor(hints, options.maxTtlMs);
      if (Array.isArray(received) && received.length === representations.length && ttlMs > MIN_LEFT_MS && !response.errors?.length) {
        const prefix = prefixOf();
        received.forEach((entity, i) => {
          if (wanted[i]) cache.set(prefix + JSON.stringify(representations[i]), { json: JSON.stringify(entity), expiresAt: now() + ttlMs }, ttlMs - MIN_LEFT_MS);
        });
        rememberKept(call.subgraph, selection);
      }
      return response;
    }

    const prefix = prefixOf();
    const keys = representations.map((rep, i) => (wanted[i] ? prefix + JSON.stringify(rep) : undefined));

    const reading = !call.scope.context.revalidate;
    const found: (Entry | undefined)[] = keys.map((key) => (key !== undefined && reading ? cache.get(key) : undefined));
    const missing: number[] = [];
    found.forEach((entry, i) => {
      if (!entry) missing.push(i);
    });
    const hits = keys.length - missing.length;
    const cacheableMisses = missing.filter((i) => keys[i] !== undefined).length;
    if (hits > 0) lookups?.inc({ subgraph: call.subgraph, outcome: "hit" }, hits);
    if (cacheableMisses > 0) lookups?.inc({ subgraph: call.subgraph, outcome: "miss" }, cacheableMisses);

    const entities: unknown[] = found.map((entry) => (entry ? JSON.parse(entry.json) : undefined));
    let errors: readonly GraphQLFormattedError[] | undefined;
    let extensions: SubgraphResult["extensions"];
    if (missing.length > 0) {
      const hints: CacheHint[] = [];
      const asked = missing.length === keys.length ? representations : missing.map((i) => representations[i]);
      const response = await next({ ...call, request: { ...call.request, variables: { ...others, representations: asked } }, scope: recordingHints(call.scope, hints) });
      const received = response.data?._entities;
      // Not an answer this cache understands: passed on as it is when nothing was served from it.
      if (!Array.isArray(received) || received.length !== asked.length) {
        if (hits === 0) return response;
        throw new Error(`Expected "data._entities" to contain ${asked.length} elements`);
      }
      const ttlMs = shareableFor(hints, options.maxTtlMs);
      const storing = ttlMs > MIN_LEFT_MS && !response.errors?.length;
      received.forEach((entity, j) => {
        const i = missing[j]!;
        entities[i] = entity;
        const key = keys[i];
        if (storing && key !== undefined) cache.set(key, { json: JSON.stringify(entity), expiresAt: now() + ttlMs }, ttlMs - MIN_LEFT_MS);
      });
      if (hits === 0) return response;
      // The subgraph numbered its errors' entities in the fetch it was sent: renumber them in this one.
      errors = response.errors?.map((error) =>
        error.path?.[0] === "_entities" && typeof error.path[1] === "number" ? { ...error, path: ["_entities", missing[error.path[1]] ?? error.path[1], ...error.path.slice(2)] } : error,
      );
      extensions = response.extensions;
    }
    // What the subgraph would have said of the entities served here: public, for the time they have left.
    const left = Math.min(...found.flatMap((entry) => (entry ? [entry.expiresAt - now()] : [])));
    call.scope.cachePolicy?.restrict({ maxAge: Math.max(0, Math.floor(left / 1000)), scope: "PUBLIC" });
    return { data: { _entities: entities }, ...(errors?.length ? { errors } : {}), ...(extensions ? { extensions } : {}) };
  };
}

/**
 * The fetch without its name: the planner names each fetch after the client's operation
 * (`query Overview__identity__1(…)`), and two operations asking the same of a User share it.
 */
export function selectionOf(query: string, operationName: string | undefined): string {
  const named = operationName ? `query ${operationName}` : undefined;
  return named && query.startsWith(named) ? `query${query.slice(named.length)}` : query;
}

/** How long an answer may be shared: its max-age when its subgraph called it public, else 0. */
function shareableFor(hints: readonly CacheHint[], maxTtlMs: number): number {
  if (hints.length === 0 || hints.some((hint) => hint.scope !== "PUBLIC")) return 0;
  const maxAge = Math.min(...hints.map((hint) => hint.maxAge ?? 0));
  return Math.min(maxAge * 1000, maxTtlMs);
}
