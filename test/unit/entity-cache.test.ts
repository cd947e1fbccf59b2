import type { GatewayContext } from "../../gateway/src/context";
import { entityCacheMiddleware } from "../../gateway/src/execution/entity-cache";
import type { SubgraphResult } from "../../gateway/src/execution/plan-execution";
import type { SubgraphCall } from "../../gateway/src/execution/subgraph-middleware";

/**
 * The entity cache's rules, fetch by fetch (gateway-entity-cache.test.ts runs it on a whole
 * stack): what it keeps, for how long, what it tells the response's cache policy, and how a
 * partly served fetch's errors keep pointing at the right entity.
 */
const QUERY = "query Q__identity__1($representations:[_Any!]!){_entities(representations:$representations){...on User{displayName}}}";
const user = (id: string) => ({ __typename: "User", id });

type Answer = { entities: unknown[]; cacheControl?: { maxAge?: number; scope?: "PUBLIC" | "PRIVATE" }; errors?: SubgraphResult["errors"] };

function harness(options: { types?: string[]; maxTtlMs?: number } = {}) {
  let clock = 1_000_000;
  const middleware = entityCacheMiddleware({ types: new Set(options.types ?? ["User"]), maxEntries: 100, maxTtlMs: options.maxTtlMs ?? 60_000, now: () => clock });
  const sent: unknown[][] = [];
  /** The subgraph: answers each representation with its id in capitals. */
  let answer = (reps: { id: string }[]): Answer => ({ entities: reps.map((rep) => ({ displayName: rep.id.toUpperCase() })), cacheControl: { maxAge: 60, scope: "PUBLIC" } });
  async function fetchEntities(reps: unknown[], context: Partial<GatewayContext> = {}, query = QUERY, operationName = "Q__identity__1") {
    const hints: { maxAge?: number; scope?: string }[] = [];
    const call: SubgraphCall = {
      subgraph: "identity",
      request: { query, variables: { representations: reps }, operationName },
      headers: {},
      scope: { context: context as GatewayContext, cachePolicy: { restrict: (hint) => void hints.push(hint) } },
    };
    const result = await middleware(call, async (forwarded) => {
      const asked = forwarded.request.variables.representations as { id: string }[];
      sent.push(asked);
      const reply = answer(asked);
      if (reply.cacheControl) forwarded.scope.cachePolicy?.restrict(reply.cacheControl);
      return { data: { _entities: reply.entities }, ...(reply.errors ? { errors: reply.errors } : {}) };
    });
    return { result, hints };
  }
  return {
    fetchEntities,
    sent,
    advance: (ms: number) => void (clock += ms),
    answerWith: (next: typeof answer) => void (answer = next),
  };
}

it("serves kept entities, asks for the others only, and merges them in the fetch's order", async () => {
  const h = harness();
  await h.fetchEntities([user("a")]);
  const { result } = await h.fetchEntities([user("b"), user("a"), user("c")]);
  expect(result.data?._entities).toEqual([{ displayName: "B" }, { displayName: "A" }, { displayName: "C" }]);
  expect(h.sent).toEqual([[user("a")], [user("b"), user("c")]]);
  // Every entity kept: nothing sent.
  await h.fetchEntities([user("c"), user("b")]);
  expect(h.sent).toHaveLength(2);
});

it("gives every hit its own copy: the executor merges into what it receives", async () => {
  const h = harness();
  await h.fetchEntities([user("a")]);
  const first = await h.fetchEntities([user("a")]);
  (first.result.data!._entities as Record<string, unknown>[])[0]!.displayName = "changed by a merge";
  const second = await h.fetchEntities([user("a")]);
  expect(second.result.data?._entities).toEqual([{ displayName: "A" }]);
});

it("keeps an entity for its max-age, at most the configured bound, and tells the response what is left", async () => {
  const h = harness({ maxTtlMs: 30_000 });
  await h.fetchEntities([user("a")]);
  h.advance(20_000);
  const served = await h.fetchEntities([user("a")]);
  expect(h.sent).toHaveLength(1);
  expect(served.hints).toEqual([{ maxAge: 10, scope: "PUBLIC" }]);
  h.advance(10_000);
  await h.fetchEntities([user("a")]);
  expect(h.sent).toHaveLength(2);
});

it("fetches again an entity in the last second of its max-age: a hit never tells the response max-age 0", async () => {
  // max-age=0 is an answer nobody may share: a live group would stop sharing its executions.
  const h = harness();
  await h.fetchEntities([user("a")]);
  h.advance(58_900);
  const served = await h.fetchEntities([user("a")]);
  expect(h.sent).toHaveLength(1);
  expect(served.hints).toEqual([{ maxAge: 1, scope: "PUBLIC" }]);
  h.advance(200);
  const fetched = await h.fetchEntities([user("a")]);
  expect(h.sent).toHaveLength(2);
  expect(fetched.hints).toEqual([{ maxAge: 60, scope: "PUBLIC" }]);
  // An answer with a second or less to live is not kept at all.
  h.answerWith((reps) => ({ entities: reps.map(() => ({ displayName: "B" })), cacheControl: { maxAge: 1, scope: "PUBLIC" } }));
  await h.fetchEntities([user("b")]);
  await h.fetchEntities([user("b")]);
  expect(h.sent).toHaveLength(4);
});

it("keeps nothing private, without a max-age, or from an answer with errors", async () => {
  for (const reply of [
    { cacheControl: { maxAge: 60, scope: "PRIVATE" as const } },
    { cacheControl: { maxAge: 0, scope: "PUBLIC" as const } },
    { cacheControl: { maxAge: 60 } },
    { cacheControl: { maxAge: 60, scope: "PUBLIC" as const }, errors: [{ message: "boom", path: ["_entities", 0] }] },
  ]) {
    const h = harness();
    h.answerWith((reps) => ({ entities: reps.map(() => ({ displayName: "X" })), ...reply }));
    await h.fetchEntities([user("a")]);
    await h.fetchEntities([user("a")]);
    expect(h.sent).toHaveLength(2);
  }
});

it("renumbers the errors of a partly served fetch to the entities of the whole fetch", async () => {
  const h = harness();
  await h.fetchEntities([user("a")]);
  h.answerWith((reps) => ({ entities: reps.map((rep) => (rep.id === "c" ? null : { displayName: "B" })), errors: [{ message: "no such user", path: ["_entities", 1, "displayName"] }] }));
  const { result } = await h.fetchEntities([user("a"), user("b"), user("c")]);
  expect(result.data?._entities).toEqual([{ displayName: "A" }, { displayName: "B" }, null]);
  expect(result.errors).toEqual([{ message: "no such user", path: ["_entities", 2, "displayName"] }]);
});

it("reads nothing kept for a request that must decide access afresh, and leaves other types and fetches alone", async () => {
  const h = harness();
  await h.fetchEntities([user("a")]);
  await h.fetchEntities([user("a")], { revalidate: true });
  expect(h.sent).toHaveLength(2);
  // The fresh answer was kept: the next ordinary request is served.
  await h.fetchEntities([user("a")]);
  expect(h.sent).toHaveLength(2);
  await h.fetchEntities([{ __typename: "Campaign", id: "x" }]);
  await h.fetchEntities([{ __typename: "Campaign", id: "x" }]);
  expect(h.sent).toHaveLength(4);
  // Another selection is another entry; the fetch's name is not part of it.
  await h.fetchEntities([user("a")], {}, QUERY.replace("Q__identity__1", "Other__identity__2"), "Other__identity__2");
  await h.fetchEntities([user("a")], {}, QUERY.replace("{displayName}", "{displayName roles}"));
  expect(h.sent).toHaveLength(5);
});

it("keeps a selection's entities once an answer is shareable, after answers that were not", async () => {
  const h = harness();
  h.answerWith((reps) => ({ entities: reps.map((rep) => ({ displayName: rep.id })), cacheControl: { maxAge: 60, scope: "PRIVATE" } }));
  await h.fetchEntities([user("a")]);
  await h.fetchEntities([user("a")]);
  expect(h.sent).toHaveLength(2);
  h.answerWith((reps) => ({ entities: reps.map((rep) => ({ displayName: rep.id.toUpperCase() })), cacheControl: { maxAge: 60, scope: "PUBLIC" } }));
  await h.fetchEntities([user("a"), user("b")]);
  expect(h.sent).toHaveLength(3);
  const { result } = await h.fetchEntities([user("b"), user("a")], {}, QUERY.replace("Q__identity__1", "Other__identity__2"), "Other__identity__2");
  expect(h.sent).toHaveLength(3);
  expect(result.data?._entities).toEqual([{ displayName: "B" }, { displayName: "A" }]);
});
