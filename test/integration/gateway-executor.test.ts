/**
 * Our query plan executor (gateway/src/execution/) against stock @apollo/gateway, side by
 * side on the same supergraph and the same running subgraphs: for every operation here the
 * two responses must be the same bytes. The subgraphs cover what plans and response shaping
 * meet in practice: entities over three hops, @requires, interfaces and unions, aliases,
 * fragments, @skip/@include (plan conditions), variables and their defaults, introspection,
 * subgraph errors (with and without codes, on entities), null propagation, and a subgraph
 * that answers wrongly (bad scalars and enums, nulls for non-null fields, unknown
 * __typename, non-JSON, 401).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { composeServices } from "@apollo/composition";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { GraphQLError, execute, parse, type DocumentNode, type GraphQLSchema } from "graphql";
import { anonymous, createLogger } from "@startales/service-kit";
import type { GatewayContext } from "../../gateway/src/context";
import { createFederatedGateway } from "../../gateway/src/execution/federated-gateway";

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

const SUBGRAPHS: Record<string, { typeDefs: DocumentNode; resolvers: object }> = {
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

function subgraphServer(name: string, schema: GraphQLSchema): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { query: string; variables?: Record<string, unknown>; operationName?: string };
        if (name === "stock" && !body.query.includes("_service")) return rogueAnswer(body as never, res);
        const result = await execute({ schema, document: parse(body.query), variableValues: body.variables, operationName: body.operationName });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
      })();
    });
  });
}

const servers: Server[] = [];
let stock: ApolloServer;
let ours: ApolloServer<GatewayContext>;
let federated: ReturnType<typeof createFederatedGateway>;
const logger = createLogger("gateway-executor-test", "silent");
const context = (): GatewayContext => ({
  viewer: anonymous,
  requestId: "test",
  logger,
  identityToken: async () => "identity",
  rateLimit: { costKey: "test" },
});

beforeAll(async () => {
  const urls: Record<string, string> = {};
  for (const [name, { typeDefs, resolvers }] of Object.entries(SUBGRAPHS)) {
    const server = subgraphServer(name, buildSubgraphSchema({ typeDefs, resolvers: resolvers as never }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  }
  const composed = composeServices(Object.entries(SUBGRAPHS).map(([name, { typeDefs }]) => ({ name, typeDefs, url: urls[name] })));
  if (composed.errors?.length || !composed.supergraphSdl) throw new Error(`composition failed: ${composed.errors?.map((e) => e.message).join("; ")}`);
  const supergraphSdl = composed.supergraphSdl;
  stock = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }), includeStacktraceInErrorResponses: false });
  federated = createFederatedGateway({ supergraphSdl, connections: 4, timeoutMs: 5_000 });
  ours = new ApolloServer<GatewayContext>({ gateway: federated.apolloGateway, includeStacktraceInErrorResponses: false });
  await Promise.all([stock.start(), ours.start()]);
});

afterAll(async () => {
  await Promise.all([stock?.stop(), ours?.stop()]);
  await federated?.close();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

type Request = { query: string; variables?: Record<string, unknown>; operationName?: string };

async function both(request: Request): Promise<{ stock: string; ours: string }> {
  const [a, b] = await Promise.all([stock.executeOperation(request), ours.executeOperation(request, { contextValue: context() })]);
  const text = (response: typeof a) => {
    if (response.body.kind !== "single") throw new Error("expected a single result");
    return JSON.stringify({ status: response.http.status ?? 200, result: response.body.singleResult });
  };
  return { stock: text(a), ours: text(b) };
}

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
      const response = await ours.executeOperation({ query: "{ product(upc: \"1\") { name stock } }" }, { contextValue: context() });
      if (response.body.kind !== "single") throw new Error("expected a single result");
      const { data, errors } = response.body.singleResult;
      expect(errors?.map((e) => [e.message, e.extensions?.code])).toEqual([["The stock service is unavailable; try again shortly", "SERVICE_UNAVAILABLE"]]);
      // stock is non-null: without it the product is null, but the request still answers.
      expect(data).toEqual({ product: null });
    } finally {
      rogue = "ok";
    }
  });
});
