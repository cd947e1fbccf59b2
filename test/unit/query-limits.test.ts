import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ApolloGateway } from "@apollo/gateway";
import {
  Kind,
  getIntrospectionQuery,
  parse,
  specifiedRules,
  validate,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import { loadGatewayConfig } from "../../gateway/src/config";
import { DEFAULT_LIST_SIZE, estimateCost, measureOperation, queryLimitsRule, type QueryLimits } from "../../gateway/src/plugins/query-limits";
import { loadSupergraphSdl } from "../../gateway/src/supergraph";
import { buildManifest } from "../../scripts/persisted-manifest";

const LIMITS: QueryLimits = { maxDepth: 12, maxAliases: 30, maxDirectives: 50, maxCost: 5000 };
const silent = { debug() {}, info() {}, warn() {}, error() {} };

let schema: GraphQLSchema;
beforeAll(async () => {
  // The API schema exactly as the gateway serves it: @apollo/gateway builds it from the supergraph.
  const gateway = new ApolloGateway({ supergraphSdl: loadSupergraphSdl(join(__dirname, "..", "..", "supergraph.graphql")), logger: silent });
  schema = (await gateway.load()).schema;
  await gateway.stop();
});

/** Every error graphql-js and the limits rule report, as the gateway validates. */
const check = (query: string, limits = LIMITS) => validate(schema, parse(query), [...specifiedRules, queryLimitsRule(limits)]);
const messages = (query: string, limits = LIMITS) => check(query, limits).map((e) => e.message);

function measure(query: string, variables?: Record<string, unknown>) {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  if (!operation) throw new Error("no operation");
  return measureOperation(schema, operation, (name) => fragments.get(name), variables);
}

/** A query exactly `depth` fields deep, through single (non-list) objects only. */
function deepQuery(depth: number): string {
  const chain = ['campaign(id: "c")'];
  while (chain.length < depth - 1) chain.push(chain.length % 2 === 1 ? "myMembership" : "campaign");
  return `{ ${chain.join(" { ")} { id }${" }".repeat(chain.length - 1)} }`;
}

describe("queryLimitsRule", () => {
  it("lets an ordinary operation through", () => {
    expect(check("query Me { me { id displayName roles } }")).toEqual([]);
  });

  describe("depth", () => {
    it("counts nested fields, and refuses one level past the limit", () => {
      expect(measure(deepQuery(12)).depth).toBe(12);
      expect(check(deepQuery(12))).toEqual([]);
      expect(messages(deepQuery(13))).toEqual(["Query depth 13 exceeds the limit of 12"]);
      expect(messages(deepQuery(50))).toEqual(["Query depth 50 exceeds the limit of 12"]);
    });

    it("follows fragments, which may hide the depth from the operation's own text", () => {
      const fragments = Array.from({ length: 8 }, (_, i) =>
        i === 7
          ? `fragment F${i} on Membership { id }`
          : `fragment F${i} on Membership { campaign { myMembership { ...F${i + 1} } } }`,
      );
      const query = `{ campaign(id: "c") { myMembership { ...F0 } } } ${fragments.join(" ")}`;
      expect(measure(query).depth).toBe(2 + 7 * 2 + 1);
      expect(messages(query)).toEqual(["Query depth 17 exceeds the limit of 12"]);
    });

    it("does not count inline fragments as a level", () => {
      expect(measure("{ me { ... on User { id } } }").depth).toBe(2);
    });
  });

  describe("aliases", () => {
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(" ")} }`;

    it("allows up to the limit and refuses more", () => {
      expect(check(aliased(30))).toEqual([]);
      expect(messages(aliased(31))).toEqual(["Query alias count 31 exceeds the limit of 30"]);
      expect(messages(aliased(1000))).toEqual(["Query alias count 1000 exceeds the limit of 30"]);
    });

    it("counts a fragment's aliases every time it is spread", () => {
      const fragment = `fragment Names on User { ${Array.from({ length: 20 }, (_, i) => `n${i}: displayName`).join(" ")} }`;
      expect(check(`{ me { ...Names } } ${fragment}`)).toEqual([]);
      expect(messages(`{ me { ...Names } u: user(id: "x") { ...Names } } ${fragment}`)).toEqual(["Query alias count 41 exceeds the limit of 30"]);
    });
  });

  describe("directives", () => {
    it("counts directives on fields, fragment spreads, inline fragments and in fragments", () => {
      const query = `{ me @include(if: true) { ...U @skip(if: false) ... on User @include(if: true) { id @skip(if: false) } } }
        fragment U on User { displayName @include(if: true) }`;
      expect(check(query)).toEqual([]);
      expect(measure(query).directives).toBe(5);
    });

    it("refuses a flood of directives", () => {
      const flood = (n: number) => `{ ${Array.from({ length: n }, () => "__typename @include(if: true)").join(" ")} }`;
      expect(check(flood(50))).toEqual([]);
      expect(messages(flood(51))).toEqual(["Query directive count 51 exceeds the limit of 50"]);
    });
  });

  describe("cost", () => {
    it("charges 1 per field, times the lists it sits under", () => {
      expect(measure("{ me { id displayName } }").cost).toBe(3);
      expect(measure("{ myCampaigns(first: 5) { id name } }").cost).toBe(1 + 5 * 2);
      // roles is a list of scalars: the field itself costs 1.
      expect(measure("{ myCampaigns(first: 20) { members { user { roles } } } }").cost).toBe(1 + 20 * (1 + DEFAULT_LIST_SIZE * (1 + 1)));
    });

    it("sizes a list by its schema default, else by the default list size", () => {
      // myCampaigns(first: Int = 100); Campaign.members has no size argument.
      expect(measure("{ myCampaigns { id } }").cost).toBe(1 + 100);
      expect(measure('{ campaign(id: "c") { members { id role } } }').cost).toBe(1 + (1 + DEFAULT_LIST_SIZE * 2));
    });

    it("sizes a list by a variable's value when it is known, else by its default", () => {
      const query = "query Page($n: Int) { myCampaigns(first: $n) { id } }";
      expect(measure(query, { n: 7 }).cost).toBe(1 + 7);
      expect(measure(query).cost).toBe(1 + 100);
      expect(measure("query Page($n: Int = 3) { myCampaigns(first: $n) { id } }").cost).toBe(1 + 3);
    });

    it("refuses nested lists whose estimate exceeds the limit", () => {
      expect(messages("{ myCampaigns(first: 500) { members { user { roles } } } }")).toEqual(["Query cost estimate 10501 exceeds the limit of 5000"]);
      expect(check("{ myCampaigns(first: 200) { members { user { roles } } } }")).toEqual([]);
    });

    it("estimates the named operation with its variables, for a rate limiter to charge", () => {
      const document = parse("query A { me { id } } query B($n: Int) { myCampaigns(first: $n) { id name } }");
      expect(estimateCost(schema, document, { operationName: "A" })).toBe(2);
      expect(estimateCost(schema, document, { operationName: "B", variables: { n: 50 } })).toBe(1 + 50 * 2);
      expect(estimateCost(schema, document)).toBe(0);
      expect(estimateCost(schema, parse("{ me { id } }"))).toBe(2);
    });
  });

  describe("fragments that never end", () => {
    it("leaves a fragment cycle to NoFragmentCycles, without hanging", () => {
      const errors = check("{ me { ...A } } fragment A on User { id ...B } fragment B on User { displayName ...A }");
      expect(errors.map((e) => e.message)).toEqual(['Cannot spread fragment "A" within itself via "B".']);
      expect(errors[0]?.extensions.code).toBeUndefined();
    });

    it("measures a self-spreading fragment under a list as a finite cost", () => {
      const query = "{ myCampaigns { ...C } } fragment C on Campaign { id members { campaign { ...C } } }";
      expect(messages(query)).toEqual(['Cannot spread fragment "C" within itself.']);
      expect(Number.isFinite(measure(query).cost)).toBe(true);
    });

    it("measures each fragment once, so exponential spreading is refused rather than expanded", () => {
      const fragments = Array.from({ length: 40 }, (_, i) => `fragment F${i} on User { ...F${i + 1} ...F${i + 1} }`);
      const query = `{ me { ...F0 } } ${fragments.join(" ")} fragment F40 on User { id }`;
      expect(measure(query).cost).toBe(1 + 2 ** 40);
      expect(messages(query)).toEqual([`Query cost estimate ${1 + 2 ** 40} exceeds the limit of 5000`]);
    });

    it("ignores a spread of an unknown fragment (KnownFragmentNames reports it)", () => {
      expect(messages("{ me { id ...Nope } }")).toEqual(['Unknown fragment "Nope".']);
    });
  });

  describe("introspection", () => {
    it("lets the standard introspection query through, though it is 15 fields deep", () => {
      expect(check(getIntrospectionQuery())).toEqual([]);
    });

    it("still refuses recursive introspection (graphql-js's MaxIntrospectionDepthRule)", () => {
      const errors = check("{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }");
      expect(errors.map((e) => e.message)).toEqual(["Maximum introspection depth exceeded"]);
    });

    it("still counts aliases inside introspection", () => {
      const query = `{ ${Array.from({ length: 31 }, (_, i) => `t${i}: __type(name: "User") { name }`).join(" ")} }`;
      expect(messages(query)).toEqual(["Query alias count 31 exceeds the limit of 30"]);
    });
  });

  it("reports every limit an operation breaks, each with QUERY_TOO_COMPLEX", () => {
    const errors = check(deepQuery(14), { ...LIMITS, maxCost: 5 });
    expect(errors.map((e) => e.message)).toEqual(["Query depth 14 exceeds the limit of 12", "Query cost estimate 14 exceeds the limit of 5"]);
    expect(errors.map((e) => e.extensions.code)).toEqual(["QUERY_TOO_COMPLEX", "QUERY_TOO_COMPLEX"]);
  });

  it("lets every operation the clients ship through at the default limits", () => {
    const config = loadGatewayConfig({ GATEWAY_SIGNING_SECRET: "g".repeat(32) });
    const defaults = { maxDepth: config.MAX_QUERY_DEPTH, maxAliases: config.MAX_ALIASES, maxDirectives: config.MAX_DIRECTIVES, maxCost: config.MAX_QUERY_COST };
    const dir = join(__dirname, "..", "operations");
    const manifest = buildManifest(readdirSync(dir).filter((f) => f.endsWith(".graphql")).map((f) => ({ path: f, text: readFileSync(join(dir, f), "utf8") })));
    expect(manifest.operations.length).toBeGreaterThan(10);
    for (const operation of manifest.operations) {
      const document = parse(operation.body, { maxTokens: config.MAX_TOKENS });
      expect({ name: operation.name, errors: validate(schema, document, [...specifiedRules, queryLimitsRule(defaults)]) }).toEqual({ name: operation.name, errors: [] });
    }
  });
});
