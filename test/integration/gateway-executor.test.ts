/**
 * Our query plan executor (gateway/src/execution/) against stock @apollo/gateway, side by
 * side on the same supergraph and the same running subgraphs: for every operation here the
 * two responses must be the same bytes. The subgraphs cover what plans and response shaping
 * meet in practice: entities over three hops, @requires, interfaces and unions, aliases,
 * fragments, @skip/@include (plan conditions), variables and their defaults, introspection,
 * subgraph errors (with and without codes, on entities), null propagation, and a subgraph
 * that answers wrongly (bad scalars and enums, nulls for non-null fields, unknown
 * __typename, non-JSON, 401). A second supergraph (gateway-executor/media-subgraphs.ts) adds
 * what federation directives make of plans: an entity interface extended as an
 * @interfaceObject, @requires on nested fields, @provides, @override (complete and
 * progressive), a nullable key, null entities, and more ways for a subgraph to fail. Each of
 * its cases also asserts what both must answer, so a mistake the two share fails as well.
 */
import type { ServerResponse } from "node:http";
import { GraphQLError, parse } from "graphql";
import { startSideBySide, type Override, type Request, type SideBySide, type SubgraphBody, type SubgraphDefinition } from "./gateway-executor/harness";
import { MEDIA_SUBGRAPHS, UNREACHABLE_SUBGRAPHS } from "./gateway-executor/media-subgraphs";

/* eslint-disable @typescript-eslint/no-explicit-any -- the answers are read as JSON */
type Result = { data: any; errors: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[] };
const resultOf = (text: string): Result => {
  const { result } = JSON.parse(text) as { result: { data?: unknown; errors?: Result["errors"] } };
  return { data: result.data, errors: result.errors ?? [] };
};
/* eslint-enable @typescript-eslint/no-explicit-any */
const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@shareable"])';

const PRODUCTS = [
  { id: "p1", upc: "1", name: "Atlas", price: 12, kind: "BOOK", tags: ["maps", "old"] },
  { id: "p2", upc: "2", name: "Hammer", price: 30, kind: "TOOL", tags: null },
  { id: "p3", upc: "3", name: "Compass", price: 7, kind: "TOOL", tags: [] },
  { id: "p4", upc: "4", name: "Lexicon", price: null, kind: "BOOK", tags: ["words"] },
];
const CATEGORIES = [{ id: "c1", title: "Navigation" }];
const REVIEWS: Record<string, { id: string; stars: number; body: string | null; author: { id: string } | null }[]> = {
  "1": [
    { id: "r1", stars: 5, body: "Great", author: { id: "u1" } },
    { id: "r2", stars: 3, body: null, author: { id: "u2" } },
  ],
  "2": [{ id: "r3", stars: 4, body: "Solid", author: { id: "u3" } }],
  "3": [],
  "4": [{ id: "r4", stars: 1, body: "Heavy", author: null }],
};
const USERS: Record<string, { id: string; name: string; email: string }> = {
  u1: { id: "u1", name: "Ada", email: "ada@example.test" },
  u2: { id: "u2", name: "Grace", email: "grace@example.test" },
};

const SUBGRAPHS: Record<string, SubgraphDefinition> = {
  catalog: {
    typeDefs: parse(`${FEDERATION}
      type Query {
        products(first: Int = 3): [Product!]!
        product(upc: ID!): Product
        node(id: ID!): Node
        search(term: String!): [SearchResult!]!
        failing: String
        failingCoded: String
        broken: Product!
      }
      interface Node { id: ID! }
      type Product implements Node @key(fields: "upc") { id: ID! upc: ID! name: String! price: Int kind: Kind! tags: [String!] }
      type Category implements Node { id: ID! title: String }
      union SearchResult = Product | Category
      enum Kind { BOOK TOOL }`),
    resolvers: {
      Query: {
        products: (_: unknown, { first }: { first: number }) => PRODUCTS.slice(0, first),
        product: (_: unknown, { upc }: { upc: string }) => PRODUCTS.find((p) => p.upc === upc) ?? null,
        node: (_: unknown, { id }: { id: string }) => [...PRODUCTS, ...CATEGORIES].find((n) => n.id === id) ?? null,
        search: () => [PRODUCTS[0], CATEGORIES[0], PRODUCTS[2]],
        failing: () => {
          throw new Error("boom");
        },
        failingCoded: () => {
          throw new GraphQLError("not for you", { extensions: { code: "FORBIDDEN" } });
        },
        broken: () => null,
      },
      Node: { __resolveType: (node: { upc?: string }) => (node.upc ? "Product" : "Category") },
      SearchResult: { __resolveType: (node: { upc?: string }) => (node.upc ? "Product" : "Category") },
      Product: { __resolveReference: ({ upc }: { upc: string }) => PRODUCTS.find((p) => p.upc === upc) ?? null },
    },
  },
  reviews: {
    typeDefs: parse(`${FEDERATION}
      type Product @key(fields: "upc") { upc: ID! price: Int @external reviews: [Review!]! rating: Float @requires(fields: "price") }
      type Review { id: ID! stars: Int! body: String author: User }
      type User @key(fields: "id", resolvable: false) { id: ID! }`),
    resolvers: {
      Product: {
        __resolveReference: (reference: { upc: string; price?: number | null }) => reference,
        reviews: ({ upc }: { upc: string }) => REVIEWS[upc] ?? [],
        rating: ({ price }: { price?: number | null }) => (price == null ? null : price / 4),
      },
    },
  },
  users: {
    typeDefs: parse(`${FEDERATION}
      type User @key(fields: "id") { id: ID! name: String email: String }`),
    resolvers: {
      User: {
        // u3 does not exist: a null entity.
        __resolveReference: ({ id }: { id: string }) => USERS[id] ?? null,
        name: (user: { id: string; name: string }) => {
          if (user.id === "u2") throw new Error("name withheld");
          return user.name;
        },
      },
    },
  },
  // Answered by hand (rogueAnswer): a subgraph that breaks its own schema on demand.
  stock: {
    typeDefs: parse(`${FEDERATION}
      type Product @key(fields: "upc") { upc: ID! stock: Int! availability: Availability }
      enum Availability { IN_STOCK SOLD_OUT }`),
    resolvers: {},
  },
};

type Rogue = "ok" | "badInt" | "nullStock" | "badEnum" | "badTypename" | "status401" | "status500" | "text";
let rogue: Rogue = "ok";

function rogueAnswer(body: { variables?: { representations?: { upc: string }[] } }, res: ServerResponse): void {
  const entities = (body.variables?.representations ?? []).map(({ upc }) => {
    const entity: Record<string, unknown> = { __typename: "Product", stock: Number(upc) * 10, availability: Number(upc) % 2 ? "IN_STOCK" : "SOLD_OUT" };
    if (upc === "2" && rogue === "badInt") entity.stock = "plenty";
    if (upc === "2" && rogue === "nullStock") entity.stock = null;
    if (upc === "2" && rogue === "badEnum") entity.availability = "MAYBE";
    if (upc === "2" && rogue === "badTypename") entity.__typename = "Gadget";
    return entity;
  });
  if (rogue === "status401") return void res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ message: "who are you" }] }));
  if (rogue === "status500") return void res.writeHead(500, { "content-type": "text/plain" }).end("down");
  if (rogue === "text") return void res.writeHead(200, { "content-type": "text/plain" }).end("not json");
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: { _entities: entities } }));
}

const faulty: Override = (name, body, res) => name === "stock" && (rogueAnswer(body as never, res), true);

let first: SideBySide;
beforeAll(async () => {
  first = await startSideBySide({ subgraphs: SUBGRAPHS, override: faulty });
});
afterAll(() => first?.close());

const both = (request: Request) => first.both(request);

const SAME: [string, Request][] = [
  [
    "entities over three hops, with @requires",
    { query: "{ products(first: 4) { upc name price kind tags rating reviews { id stars body author { id name email } } } }" },
  ],
  ["argument defaults and aliases, __typename aliased", { query: "{ a: products { n: name t: __typename upc } b: product(upc: \"2\") { name kind } c: product(upc: \"9\") { name } __typename }" }],
  [
    "named and inline fragments on an interface and a union",
    {
      query: `query Find { node(id: "c1") { __typename id ...C ... on Product { name } } p: node(id: "p2") { id ... on Product { name reviews { stars } } }
        search(term: "x") { __typename ... on Product { upc reviews { stars author { name } } } ...C } }
        fragment C on Category { title }`,
    },
  ],
  [
    "@skip and @include from variables (plan conditions), literals, spreads and defaults",
    {
      query: `query Q($withReviews: Boolean = true, $skipName: Boolean!, $first: Int) {
        products(first: $first) {
          upc name @skip(if: $skipName) price @include(if: false)
          reviews @include(if: $withReviews) { stars author @skip(if: $skipName) { name } }
          ... on Product @include(if: $withReviews) { rating }
          ...Tags @skip(if: $skipName)
        }
      }
      fragment Tags on Product { tags }`,
      variables: { skipName: false, first: 2 },
    },
  ],
  ["the same, every condition flipped", { query: "query Q($withReviews: Boolean = true, $skipName: Boolean!) { products { upc name @skip(if: $skipName) reviews @include(if: $withReviews) { stars } } }", variables: { skipName: true, withReviews: false } }],
  ["an operation chosen by name", { query: "query A { products { upc } } query B { product(upc: \"1\") { name reviews { id } } }", operationName: "B" }],
  ["a subgraph error beside data, with and without a code", { query: "{ failing failingCoded products(first: 1) { name } }" }],
  ["a non-null root field the subgraph nulled", { query: "{ broken { upc } products(first: 1) { upc } }" }],
  ["errors and missing entities in an entity fetch (paths in the client's response)", { query: "{ products(first: 2) { upc reviews { id author { id name email } } } }" }],
  ["introspection beside federated data", { query: "{ __type(name: \"Product\") { name kind fields { name } } __schema { queryType { name } } products(first: 1) { name } }" }],
  ["only __typename: nothing to fetch", { query: "{ __typename }" }],
  ["a variable of the wrong type", { query: "query Q($first: Int) { products(first: $first) { upc } }", variables: { first: "two" } }],
  ["a required variable left out", { query: "query Q($upc: ID!) { product(upc: $upc) { upc } }", variables: {} }],
  ["a @skip variable given null over its default", { query: "query Q($s: Boolean = true) { products { upc name @skip(if: $s) } }", variables: { s: null } }],
];

describe("our executor answers as stock @apollo/gateway, byte for byte", () => {
  it.each(SAME)("%s", async (_name, request) => {
    const { stock: expected, ours: actual } = await both(request);
    expect(actual).toBe(expected);
    // Not a vacuous pass: each answer carries data or errors.
    expect(JSON.parse(actual).result.data !== undefined || JSON.parse(actual).result.errors !== undefined).toBe(true);
  });

  const ROGUE: Rogue[] = ["ok", "badInt", "nullStock", "badEnum", "badTypename", "status401", "text"];
  it.each(ROGUE)("when a subgraph answers %s", async (mode) => {
    rogue = mode;
    try {
      const nullable = await both({ query: "{ product(upc: \"2\") { upc stock availability } other: product(upc: \"1\") { stock } }" });
      expect(nullable.ours).toBe(nullable.stock);
      const nonNull = await both({ query: "{ products { upc name stock availability } }" });
      expect(nonNull.ours).toBe(nonNull.stock);
    } finally {
      rogue = "ok";
    }
  });
});

describe("where our executor differs from stock on purpose", () => {
  it("reports a subgraph answering 5xx as SERVICE_UNAVAILABLE for its part only", async () => {
    rogue = "status500";
    try {
      const { data, errors } = await first.ours({ query: "{ product(upc: \"1\") { name stock } }" });
      expect(errors?.map((e) => [e.message, e.extensions?.code])).toEqual([["The stock service is unavailable; try again shortly", "SERVICE_UNAVAILABLE"]]);
      // stock is non-null: without it the product is null, but the request still answers.
      expect(data).toEqual({ product: null });
    } finally {
      rogue = "ok";
    }
  });
});

/*
 * The second supergraph (gateway-executor/media-subgraphs.ts): an entity interface with an
 * @interfaceObject, a union, @requires on nested fields, @provides, @override, a nullable
 * key, null entities and subgraph errors with extensions, over five subgraphs.
 */
describe("on a supergraph of interfaces, @interfaceObject, @requires, @provides and @override", () => {
  let media: SideBySide;
  /** How a subgraph misbehaves for the current test (answered by hand), if it does. */
  let fault: { subgraph: string; answer: (body: SubgraphBody, res: ServerResponse) => void } | undefined;
  beforeAll(async () => {
    media = await startSideBySide({
      subgraphs: MEDIA_SUBGRAPHS,
      unreachable: UNREACHABLE_SUBGRAPHS,
      override: (name, body, res) => (fault?.subgraph === name ? (fault.answer(body, res), true) : false),
    });
  });
  afterAll(() => media?.close());

  /** Each case: the request, and what both answers must also show (so a shared mistake fails too). */
  const CASES: [string, Request, (result: Result) => void][] = [
    [
      "an entity interface, with fragments on implementations answered by three other subgraphs",
      { query: "{ media { __typename id title score ... on Book { pages shippingCost author { name } } ... on Film { minutes } } }" },
      ({ data, errors }) => {
        expect(data.media.map((m: { __typename: string }) => m.__typename)).toEqual(["Book", "Book", "Book", "Film", "Film"]);
        // Film.minutes is overridden by shipping; Book.pages has a progressive label that stays off.
        expect(data.media.map((m: { minutes?: number; pages?: number }) => m.minutes ?? m.pages)).toEqual([320, null, 900, 153, 94]);
        expect(data.media[0]).toEqual({ __typename: "Book", id: "b1", title: "Atlas", score: 4.5, pages: 320, shippingCost: 23, author: { name: "A. Lovelace" } });
        expect(errors.map((e) => [e.message, e.path, e.extensions])).toEqual([["ratings withheld", ["media", 1, "score"], { code: "FORBIDDEN", reason: "embargo", serviceName: "ratings" }]]);
      },
    ],
    [
      "@interfaceObject fields beside three hops, with errors, a null key and null entities on the way",
      { query: "{ books { id score reviewers { id name email } } }" },
      ({ data, errors }) => {
        expect(data.books[0].reviewers).toEqual([
          { id: "a1", name: "Ada Lovelace", email: "ada@example.test" },
          { id: "a2", name: "Grace Hopper", email: null },
        ]);
        // a3 and the null id are nobody: people answers null entities, the keys stay.
        expect(data.books[2].reviewers).toEqual([
          { id: "a3", name: null, email: null },
          { id: null, name: null, email: null },
        ]);
        expect(errors.map((e) => [e.message, e.path, e.extensions?.code])).toEqual([
          ["ratings withheld", ["books", 1, "score"], "FORBIDDEN"],
          ["email is private", ["books", 0, "reviewers", 1, "email"], "PRIVATE"],
        ]);
      },
    ],
    [
      "a null entity under a non-null field nulls everything up to the root",
      { query: "{ media { id reviewers { id } } }" },
      ({ data }) => expect(data).toBeNull(),
    ],
    [
      "a null entity under a non-null field nulls only its nullable parent",
      { query: "{ gone: medium(id: \"f2\") { id title reviewers { id } } kept: medium(id: \"b1\") { title reviewers { id } } missing: medium(id: \"zz\") { id } }" },
      ({ data }) => expect(data).toEqual({ gone: null, kept: { title: "Atlas", reviewers: [{ id: "a1" }, { id: "a2" }] }, missing: null }),
    ],
    [
      "a root field of the @interfaceObject subgraph: the concrete types come from catalog",
      { query: "{ topRated { __typename id title score ... on Film { minutes } ... on Book { pages reviewers { name } } } }" },
      ({ data }) => {
        expect(data.topRated).toEqual([
          { __typename: "Film", id: "f1", title: "Metropolis", score: 5, minutes: 153 },
          { __typename: "Book", id: "b1", title: "Atlas", score: 4.5, pages: 320, reviewers: [{ name: "Ada Lovelace" }, { name: "Grace Hopper" }] },
        ]);
      },
    ],
    [
      "a union with a null member, entity fields on two of its types",
      { query: "{ feed { __typename ... on Book { id score shippingCost } ... on Film { id minutes } ... on Notice { text } } }" },
      ({ data }) => expect(data.feed).toEqual([{ __typename: "Book", id: "b1", score: 4.5, shippingCost: 23 }, { __typename: "Notice", text: "Closed on Sunday" }, null, { __typename: "Film", id: "f1", minutes: 153 }]),
    ],
    [
      "@requires on nested fields, some of them null, with aliases and without asking for what is required",
      { query: "{ books { cost: shippingCost t: title } }" },
      ({ data }) => expect(data.books).toEqual([{ cost: 23, t: "Atlas" }, { cost: null, t: "Manual" }, { cost: 50, t: "Lexicon" }]),
    ],
    [
      "@provides: the name comes from catalog when it is all that is asked",
      { query: "{ books { author { name } } }" },
      ({ data }) => expect(data.books).toEqual([{ author: { name: "A. Lovelace" } }, { author: null }, { author: { name: "Nobody" } }]),
    ],
    [
      "@provides beside a field only people has, for a null and an unknown author",
      { query: "{ books { author { id name email } } }" },
      ({ data }) => expect(data.books.map((b: { author: unknown }) => b.author)).toEqual([{ id: "a1", name: "A. Lovelace", email: "ada@example.test" }, null, { id: "a9", name: "Nobody", email: null }]),
    ],
    [
      "@skip and @include from variables around entity fetches and fragments",
      {
        query: `query Q($withScore: Boolean!, $noBooks: Boolean = false, $deep: Boolean!) {
          media { id score @include(if: $withScore) ... on Book @skip(if: $noBooks) { shippingCost reviewers @include(if: $deep) { name } } ... on Film { minutes @skip(if: $deep) } }
        }`,
        variables: { withScore: false, deep: true },
      },
      ({ data }) => {
        expect(data.media[0]).toEqual({ id: "b1", shippingCost: 23, reviewers: [{ name: "Ada Lovelace" }, { name: "Grace Hopper" }] });
        expect(data.media[3]).toEqual({ id: "f1" });
      },
    ],
    [
      "the same, the conditions flipped",
      {
        query: `query Q($withScore: Boolean!, $noBooks: Boolean = false, $deep: Boolean!) {
          media { id score @include(if: $withScore) ... on Book @skip(if: $noBooks) { shippingCost reviewers @include(if: $deep) { name } } ... on Film { minutes @skip(if: $deep) } }
        }`,
        variables: { withScore: true, noBooks: true, deep: false },
      },
      ({ data }) => expect(data.media.map((m: object) => Object.keys(m).join())).toEqual(["id,score", "id,score", "id,score", "id,score,minutes", "id,score,minutes"]),
    ],
    [
      "one field under several aliases and arguments, __typename aliased on interfaces",
      {
        query: `{ x: medium(id: "b1") { __typename t: __typename ... on Book { kind: __typename title } } y: medium(id: "f1") { ...M ... on Film { m: minutes s: score } }
          z: person(id: "a2") { name email } w: person(id: "a3") { name } }
          fragment M on Media { __typename title score }`,
      },
      ({ data }) => {
        expect(data.x).toEqual({ __typename: "Book", t: "Book", kind: "Book", title: "Atlas" });
        expect(data.y).toEqual({ __typename: "Film", title: "Metropolis", score: 5, m: 153, s: 5 });
        expect(data.w).toBeNull();
      },
    ],
    [
      "a non-null field the subgraph nulled inside a non-null root field",
      { query: "{ notice { text } }" },
      ({ data, errors }) => {
        expect(data).toBeNull();
        expect(errors.map((e) => e.path)).toEqual([["notice", "text"]]);
      },
    ],
  ];

  it.each(CASES)("%s", async (_name, request, check) => {
    const { stock: expected, ours: actual } = await media.both(request);
    expect(actual).toBe(expected);
    check(resultOf(actual));
  });

  /** Subgraphs answering what no schema allows: both gateways must say the same about it. */
  const FAULT_QUERY = "{ books { id title shippingCost score reviewers { name email } } }";
  const titles = (result: Result) => result.data?.books.map((b: { title: string }) => b.title);
  const messages = (result: Result) => result.errors.map((e) => e.message);
  const FAULTS: [string, string, (body: SubgraphBody, res: ServerResponse) => void, (result: Result) => void][] = [
    [
      "errors without data",
      "people",
      (_body, res) => void json(res, 200, { errors: [{ message: "people are resting", extensions: { code: "RESTING", until: "noon" } }] }),
      (result) => {
        expect(titles(result)).toEqual(["Atlas", "Manual", "Lexicon"]);
        expect(result.data.books[0].reviewers).toEqual([{ name: null, email: null }, { name: null, email: null }]);
        // No path: the error is the whole fetch's.
        expect(result.errors[1]).toEqual({ message: "people are resting", extensions: { code: "RESTING", until: "noon", serviceName: "people" } });
      },
    ],
    [
      "null data with an error on an entity path",
      "people",
      (_body, res) => void json(res, 200, { data: null, errors: [{ message: "partly gone", path: ["_entities", 1, "name"], extensions: { code: "GONE" } }] }),
      // The entity's index becomes its place in the client's response.
      (result) => expect(result.errors[1]).toEqual({ message: "partly gone", path: ["books", 0, "reviewers", 1, "name"], extensions: { code: "GONE", serviceName: "people" } }),
    ],
    [
      "null for some entities, with an error on one of them",
      "people",
      (body, res) => {
        const representations = (body.variables?.representations ?? []) as { id: string | null }[];
        const entities = representations.map((r, i) => (i % 2 ? null : { __typename: "Person", name: `#${r.id}`, email: null }));
        json(res, 200, { data: { _entities: entities }, errors: [{ message: "half", path: ["_entities", 1] }] });
      },
      (result) => {
        expect(result.data.books[2].reviewers).toEqual([{ name: "#a3", email: null }, { name: null, email: null }]);
        expect(result.errors[1]).toEqual({ message: "half", path: ["books", 0, "reviewers", 1], extensions: { serviceName: "people", code: "DOWNSTREAM_SERVICE_ERROR" } });
      },
    ],
    [
      "fewer entities than asked",
      "ratings",
      (_body, res) => void json(res, 200, { data: { _entities: [] } }),
      // Nothing merged: reviewers (non-null) is missing, and the null reaches the root.
      (result) => {
        expect(result.data).toBeNull();
        expect(messages(result)).toEqual(['Expected "data._entities" to contain 3 elements']);
      },
    ],
    [
      "entities without a __typename",
      "ratings",
      (body, res) => void json(res, 200, { data: { _entities: (body.variables?.representations as { id: string }[]).map(({ id }) => ({ score: id.length, reviewers: [] })) } }),
      // The gateway gives each the __typename of the entity it was asked for.
      (result) => {
        expect(result.data.books.map((b: { score: number }) => b.score)).toEqual([2, 2, 2]);
        expect(result.errors).toEqual([]);
      },
    ],
    [
      "a 401 with a JSON body",
      "people",
      (_body, res) => void json(res, 401, { errors: [{ message: "who are you" }] }),
      (result) => {
        expect(titles(result)).toEqual(["Atlas", "Manual", "Lexicon"]);
        expect(result.errors[1]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", response: { status: 401, body: { errors: [{ message: "who are you" }] } } });
      },
    ],
    [
      "a 403 with a text body",
      "ratings",
      (_body, res) => void res.writeHead(403, { "content-type": "text/plain" }).end("go away"),
      (result) => {
        expect(result.data).toBeNull();
        expect(result.errors.map((e) => [e.message, e.extensions?.code, e.extensions?.response.body])).toEqual([["403: Forbidden", "FORBIDDEN", "go away"]]);
      },
    ],
    [
      "text instead of JSON",
      "shipping",
      (_body, res) => void res.writeHead(200, { "content-type": "text/html" }).end("<h1>hello</h1>"),
      (result) => {
        expect(result.data.books.map((b: { shippingCost: unknown }) => b.shippingCost)).toEqual([null, null, null]);
        expect(messages(result)).toEqual(["ratings withheld", "Expected JSON response body, but received: <h1>hello</h1>", "email is private"]);
      },
    ],
    [
      "a JSON array",
      "shipping",
      (_body, res) => void json(res, 200, [1, 2]),
      (result) => expect(messages(result)[1]).toBe("Expected JSON response body, but received: 1,2"),
    ],
    [
      "JSON cut short",
      "shipping",
      (_body, res) => void res.writeHead(200, { "content-type": "application/json" }).end('{"data": {'),
      (result) => expect(messages(result)[1]).toMatch(/^invalid json response body at http:\/\/127\.0\.0\.1:[0-9]+\/graphql reason: /),
    ],
    ["an empty JSON body", "shipping", (_body, res) => void res.writeHead(200, { "content-type": "application/json" }).end(), (result) => expect(messages(result)[1]).toMatch(/reason: Unexpected end of JSON input$/)],
  ];

  it.each(FAULTS)("when a subgraph answers %s", async (_name, subgraph, answer, check) => {
    fault = { subgraph, answer };
    try {
      const { stock: expected, ours: actual } = await media.both({ query: FAULT_QUERY });
      expect(actual).toBe(expected);
      check(resultOf(actual));
    } finally {
      fault = undefined;
    }
  });

  it("differs on purpose for a subgraph that is down: SERVICE_UNAVAILABLE, naming no host", async () => {
    const request = { query: "{ books { id archivedAt } }" };
    const [ours, stock] = await Promise.all([media.ours(request), media.stock(request)]);
    // The data is the same: the field is null where the subgraph could not answer.
    expect(ours.data).toEqual(stock.data);
    expect(ours.data).toEqual({ books: [{ id: "b1", archivedAt: null }, { id: "b2", archivedAt: null }, { id: "b3", archivedAt: null }] });
    // Stock passes the connection error on, host and port included; ours says which service.
    expect(stock.errors?.[0]?.message).toContain(new URL(media.urls.archive!).host);
    expect(ours.errors?.map((e) => [e.message, e.extensions?.code])).toEqual([["The archive service is unavailable; try again shortly", "SERVICE_UNAVAILABLE"]]);
  });
});
