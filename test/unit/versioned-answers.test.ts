import { parse, type GraphQLResolveInfo, type OperationDefinitionNode } from "graphql";
import { createAnswerVersions, entityTag, matchesEntityTag, rootResponseKeys, signedIn, Role, type VersionedFeed, type Viewer } from "@startales/service-kit";
import type { GatewayContext } from "../../gateway/src/context";
import { parseAnswerVersions, versionedAnswerMiddleware } from "../../gateway/src/execution/versioned-answers";
import type { SubgraphResult } from "../../gateway/src/execution/plan-execution";
import type { SubgraphCall } from "../../gateway/src/execution/subgraph-middleware";

/**
 * Answers kept by the campaign versions they were computed from: what a subgraph names
 * (service-kit answer-versions.ts) and what the gateway keeps and serves
 * (gateway/src/execution/versioned-answers.ts), fetch by fetch. The whole stack is
 * test/integration/versioned-answers.test.ts.
 */
const CAMPAIGN = "7b0c2b6e-0a4e-4c8e-9a53-0d1f3c5b9e21";
const OTHER = "9d1e4f20-3b5a-4d6c-8e7f-1a2b3c4d5e6f";
const rootInfo = (key: string) => ({ path: { key, prev: undefined, typename: "Query" } }) as unknown as GraphQLResolveInfo;
const nestedInfo = (key: string) => ({ path: { key, prev: { key: "galaxyMap", prev: undefined }, typename: "GalaxyMap" } }) as unknown as GraphQLResolveInfo;

describe("a subgraph names its answer's versions", () => {
  it("only when every root field vouched, from the versions read", () => {
    const answer = createAnswerVersions();
    answer.read("campaign", CAMPAIGN, "5-0");
    answer.read("world", CAMPAIGN, "12-0");
    answer.read("world", CAMPAIGN, "12-0");
    answer.vouch(rootInfo("galaxyMap"));
    expect(answer.headerFor(["galaxyMap", "__typename"])).toBe(`campaign:${CAMPAIGN}=5-0, world:${CAMPAIGN}=12-0`);
    // A root field that did not vouch (it reads something unversioned) leaves the answer unnamed.
    expect(answer.headerFor(["galaxyMap", "commands"])).toBeUndefined();
  });

  it("never from below the root, without a version, or from two versions of one feed", () => {
    const nested = createAnswerVersions();
    nested.read("world", CAMPAIGN, "1-0");
    nested.vouch(nestedInfo("systems"));
    expect(nested.headerFor(["systems"])).toBeUndefined();

    const redisAway = createAnswerVersions();
    redisAway.read("world", CAMPAIGN, "1-0");
    redisAway.read("campaign", CAMPAIGN, null);
    redisAway.vouch(rootInfo("leaderboard"));
    expect(redisAway.headerFor(["leaderboard"])).toBeUndefined();

    const torn = createAnswerVersions();
    torn.read("world", CAMPAIGN, "1-0");
    torn.read("world", CAMPAIGN, "2-0");
    torn.vouch(rootInfo("leaderboard"));
    expect(torn.headerFor(["leaderboard"])).toBeUndefined();

    const nothingRead = createAnswerVersions();
    nothingRead.vouch(rootInfo("leaderboard"));
    expect(nothingRead.headerFor(["leaderboard"])).toBeUndefined();
  });

  it("finds the root fields through aliases, inline fragments and fragment spreads", () => {
    const document = parse("query Q { a: galaxyMap(campaignId: 1) { tick } ... on Query { leaderboard(campaignId: 1) { rank } } ...More } fragment More on Query { __typename myCivilization(campaignId: 1) { id } }");
    const operation = document.definitions[0] as OperationDefinitionNode;
    expect(rootResponseKeys(operation.selectionSet, document)).toEqual(["a", "leaderboard", "__typename", "myCivilization"]);
  });

  it("is read back by the gateway only in the form it is written", () => {
    expect(parseAnswerVersions(`world:${CAMPAIGN}=12-0, campaign:${OTHER}=3-1`)).toEqual([
      { feed: "world", campaignId: CAMPAIGN, version: "12-0" },
      { feed: "campaign", campaignId: OTHER, version: "3-1" },
    ]);
    for (const bad of ["", `world:${CAMPAIGN}`, `stars:${CAMPAIGN}=1-0`, `world:${CAMPAIGN}=1-0, junk`, `world:../../x=1-0`]) expect(parseAnswerVersions(bad)).toBeUndefined();
  });
});

const QUERY = "query Map__simulation__0($id:ID!){galaxyMap(campaignId:$id){tick}}";
const player = (id: string): Viewer => signedIn(id, [Role.PLAYER]);

function harness() {
  const current = new Map<string, string>([
    [`world:${CAMPAIGN}`, "10-0"],
    [`campaign:${CAMPAIGN}`, "4-0"],
  ]);
  /** What the gateway has learnt (publications, or asking Redis, as campaign-versions.ts does): `current` is Redis. */
  const known = new Map(current);
  const ask = (key: string) => {
    const version = current.get(key) ?? null;
    if (version !== null) known.set(key, version);
    return version;
  };
  const versions = {
    known: (feed: VersionedFeed, campaignId: string) => known.get(`${feed}:${campaignId}`),
    world: async (campaignId: string) => ask(`world:${campaignId}`),
    membership: async (campaignId: string) => ask(`campaign:${campaignId}`),
  };
  const middleware = versionedAnswerMiddleware({ versions, maxEntries: 100, maxBytes: 1_000_000, maxTtlMs: 60_000 });
  let sent = 0;
  /** The subgraph: the tick it answers is the world's version, named in its header unless told otherwise. */
  let header = (): string | undefined => `world:${CAMPAIGN}=${current.get(`world:${CAMPAIGN}`)}, campaign:${CAMPAIGN}=${current.get(`campaign:${CAMPAIGN}`)}`;
  let errors: SubgraphResult["errors"];
  let duringFetch = () => undefined as void;
  async function fetchMap(viewer: Viewer, context: Partial<GatewayContext> = {}, query = QUERY, variables: Record<string, unknown> = { id: CAMPAIGN }) {
    const hints: { maxAge?: number; scope?: string }[] = [];
    const call: SubgraphCall = {
      subgraph: "simulation",
      request: { query, variables, operationName: /^query (\w+)/.exec(query)?.[1] },
      headers: {},
      scope: { context: { viewer, ...context } as GatewayContext, cachePolicy: { restrict: (hint) => void hints.push(hint) } },
    };
    const result = await middleware(call, async (forwarded) => {
      sent += 1;
      const tick = Number(current.get(`world:${CAMPAIGN}`)!.split("-")[0]);
      const named = header();
      duringFetch();
      if (forwarded.received && named) forwarded.received.answerVersions = named;
      forwarded.scope.cachePolicy?.restrict({ maxAge: 0, scope: "PRIVATE" });
      return { data: { galaxyMap: { tick, owner: (viewer as { userId?: string }).userId } }, ...(errors ? { errors } : {}) };
    });
    // Let the store (which may ask Redis for a version it has not learnt) settle.
    await new Promise((resolve) => setImmediate(resolve));
    return { result, hints };
  }
  return {
    fetchMap,
    sent: () => sent,
    /** A new version, published to the gateway. */
    move: (feed: VersionedFeed, version: string) => {
      current.set(`${feed}:${CAMPAIGN}`, version);
      known.set(`${feed}:${CAMPAIGN}`, version);
    },
    /** The gateway no longer trusts what it knew (a reconnect, an expiry): Redis still has it. */
    forget: (feed: VersionedFeed) => void known.delete(`${feed}:${CAMPAIGN}`),
    nameWith: (next: typeof header) => void (header = next),
    failWith: (next: SubgraphResult["errors"]) => void (errors = next),
    whileFetching: (next: () => void) => void (duringFetch = next),
  };
}

describe("the gateway keeps a named answer until a version moves", () => {
  it("serves it again to the same caller, with the subgraph's cache policy, until the world ticks", async () => {
    const h = harness();
    const first = await h.fetchMap(player("ada"));
    const again = await h.fetchMap(player("ada"));
    expect(h.sent()).toBe(1);
    expect(again.result).toEqual(first.result);
    expect(again.hints).toEqual([{ maxAge: 0, scope: "PRIVATE" }]);
    h.move("world", "11-0");
    const next = await h.fetchMap(player("ada"));
    expect(h.sent()).toBe(2);
    expect(next.result.data).toEqual({ galaxyMap: { tick: 11, owner: "ada" } });
  });

  it("asks again after a join, leave or kick (membership), and never serves one caller's answer to another", async () => {
    const h = harness();
    await h.fetchMap(player("ada"));
    const grace = await h.fetchMap(player("grace"));
    expect(grace.result.data).toEqual({ galaxyMap: { tick: 10, owner: "grace" } });
    expect(h.sent()).toBe(2);
    // The same user with other roles (a new token) is another caller too.
    await h.fetchMap(signedIn("ada", [Role.PLAYER, Role.ADMIN]));
    expect(h.sent()).toBe(3);
    h.move("campaign", "5-0");
    await h.fetchMap(player("ada"));
    expect(h.sent()).toBe(4);
    await h.fetchMap(player("ada"));
    expect(h.sent()).toBe(4);
  });

  it("gives every hit its own copy: the executor merges into what it receives", async () => {
    const h = harness();
    await h.fetchMap(player("ada"));
    const hit = await h.fetchMap(player("ada"));
    (hit.result.data as { galaxyMap: { tick: number } }).galaxyMap.tick = -1;
    const next = await h.fetchMap(player("ada"));
    expect(next.result.data).toEqual({ galaxyMap: { tick: 10, owner: "ada" } });
  });

  it("keeps nothing unnamed, with errors, or computed at a version that moved meanwhile", async () => {
    const unnamed = harness();
    unnamed.nameWith(() => undefined);
    await unnamed.fetchMap(player("ada"));
    await unnamed.fetchMap(player("ada"));
    expect(unnamed.sent()).toBe(2);

    const failed = harness();
    failed.failWith([{ message: "not for you", path: ["galaxyMap"] }]);
    await failed.fetchMap(player("ada"));
    await failed.fetchMap(player("ada"));
    expect(failed.sent()).toBe(2);

    const raced = harness();
    // The tick commits while the subgraph computes from the version before it.
    raced.whileFetching(() => raced.move("world", "11-0"));
    await raced.fetchMap(player("ada"));
    raced.whileFetching(() => undefined);
    await raced.fetchMap(player("ada"));
    expect(raced.sent()).toBe(2);
  });

  it("serves nothing while a version is not known (publications missed, Redis away), nor to a re-authorization", async () => {
    const h = harness();
    await h.fetchMap(player("ada"));
    await h.fetchMap(player("ada"), { revalidate: true });
    expect(h.sent()).toBe(2);
    h.forget("world");
    await h.fetchMap(player("ada"));
    expect(h.sent()).toBe(3);
    // That miss asked Redis for the version again: the answer is kept and served from then on.
    await h.fetchMap(player("ada"));
    expect(h.sent()).toBe(3);
  });

  it("leaves mutations alone, and keeps an entity fetch by its representations", async () => {
    const h = harness();
    await h.fetchMap(player("ada"), {}, "mutation M__simulation__0($id:ID!){galaxyMap(campaignId:$id){tick}}");
    await h.fetchMap(player("ada"), {}, "mutation M__simulation__0($id:ID!){galaxyMap(campaignId:$id){tick}}");
    expect(h.sent()).toBe(2);
    const ENTITIES = "query O__simulation__1($representations:[_Any!]!){_entities(representations:$representations){...on Campaign{world{tick}}}}";
    await h.fetchMap(player("ada"), {}, ENTITIES, { representations: [{ __typename: "Campaign", id: CAMPAIGN }] });
    await h.fetchMap(player("ada"), {}, ENTITIES, { representations: [{ __typename: "Campaign", id: CAMPAIGN }] });
    expect(h.sent()).toBe(3);
    await h.fetchMap(player("ada"), {}, ENTITIES, { representations: [{ __typename: "Campaign", id: OTHER }] });
    expect(h.sent()).toBe(4);
  });
});

describe("conditional GETs", () => {
  it("tag a body by its bytes and match If-None-Match as RFC 9110 compares", () => {
    const tag = entityTag('{"data":{"galaxyMap":{"tick":3}}}');
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(entityTag('{"data":{"galaxyMap":{"tick":3}}}')).toBe(tag);
    expect(entityTag('{"data":{"galaxyMap":{"tick":4}}}')).not.toBe(tag);
    expect(matchesEntityTag(tag, tag)).toBe(true);
    expect(matchesEntityTag(`"abc", W/${tag}`, tag)).toBe(true);
    expect(matchesEntityTag("*", tag)).toBe(true);
    expect(matchesEntityTag('"abc"', tag)).toBe(false);
    expect(matchesEntityTag(undefined, tag)).toBe(false);
    expect(matchesEntityTag(tag.slice(1, -1), tag)).toBe(false);
  });
});

describe("the gateway looks answers up only for fetches a subgraph has named", () => {
  it("keeps a fetch's first named answer after unnamed ones, and serves it under another operation's name", async () => {
    const h = harness();
    h.nameWith(() => undefined);
    await h.fetchMap(player("ada"));
    await h.fetchMap(player("ada"));
    expect(h.sent()).toBe(2);
    h.nameWith(() => `world:${CAMPAIGN}=10-0, campaign:${CAMPAIGN}=4-0`);
    await h.fetchMap(player("ada"));
    expect(h.sent()).toBe(3);
    await h.fetchMap(player("ada"));
    expect(h.sent()).toBe(3);
    // The planner names a fetch after the client's operation: the same selection is the same answer.
    await h.fetchMap(player("ada"), {}, QUERY.replace("Map__simulation__0", "Other__simulation__3"));
    expect(h.sent()).toBe(3);
  });
});
