import { buildSchema, parse } from "graphql";
import { OTHER_CLIENT, clientLabel, createClientIdentities } from "../../gateway/src/client-identity";
import { deprecatedInVariables, findDeprecatedUsage } from "../../gateway/src/deprecated-usage";

const headers = (values: Record<string, string>) => new Map(Object.entries(values));

describe("client identity labels", () => {
  it("prefers Apollo's headers, falls back to x-client-*, and says unknown otherwise", () => {
    const identify = createClientIdentities();
    expect(identify(headers({ "apollographql-client-name": "web", "apollographql-client-version": "1.2.3", "x-client-name": "ignored" }))).toEqual({ name: "web", version: "1.2.3" });
    expect(identify(headers({ "x-client-name": "ios", "x-client-version": "4.0.1" }))).toEqual({ name: "ios", version: "4.0.1" });
    expect(identify(headers({}))).toEqual({ name: "unknown", version: "unknown" });
    expect(identify(undefined)).toEqual({ name: "unknown", version: "unknown" });
  });

  it("cleans and cuts a value to a safe label", () => {
    expect(clientLabel("  Startales Web  ")).toBe("Startales_Web");
    expect(clientLabel('1.2.3+build"}\n')).toBe("1.2.3_build_");
    expect(clientLabel("x".repeat(500))).toHaveLength(64);
    expect(clientLabel("   ")).toBeUndefined();
  });

  it("keeps the first names and name/version pairs, then counts the rest as other", () => {
    const identify = createClientIdentities({ names: 2, versions: 3 });
    expect(identify(headers({ "x-client-name": "a", "x-client-version": "1" }))).toEqual({ name: "a", version: "1" });
    expect(identify(headers({ "x-client-name": "b", "x-client-version": "1" }))).toEqual({ name: "b", version: "1" });
    expect(identify(headers({ "x-client-name": "c", "x-client-version": "1" }))).toEqual({ name: OTHER_CLIENT, version: OTHER_CLIENT });
    expect(identify(headers({ "x-client-name": "a", "x-client-version": "2" }))).toEqual({ name: "a", version: "2" });
    expect(identify(headers({ "x-client-name": "a", "x-client-version": "3" }))).toEqual({ name: "a", version: OTHER_CLIENT });
    // Known pairs keep their labels.
    expect(identify(headers({ "x-client-name": "b", "x-client-version": "1" }))).toEqual({ name: "b", version: "1" });
  });
});

describe("deprecated usage of an operation", () => {
  const schema = buildSchema(`
    directive @trace(level: Int @deprecated(reason: "removal after 2099-01-01"), on: Boolean) on FIELD
    type Query {
      campaign(id: ID!, legacyId: Int @deprecated(reason: "removal after 2099-01-01")): Campaign
      campaigns(status: Status, filter: Filter): [Campaign!]!
    }
    type Campaign { id: ID! name: String! tickRateMs: Int! @deprecated(reason: "use tickRate; removal after 2099-01-01") tickRate: Int! }
    enum Status { DRAFT RUNNING ARCHIVED @deprecated(reason: "removal after 2099-01-01") }
    input Filter { name: String oldName: String @deprecated(reason: "removal after 2099-01-01") status: [Status!] nested: Filter }
  `);
  const usage = (query: string, operationName?: string) => findDeprecatedUsage(schema, parse(query), operationName);

  it("names deprecated fields, arguments, directive arguments, enum values and input fields by schema coordinate", () => {
    const found = usage(`{
      campaign(id: "1", legacyId: 2) { id tickRateMs @trace(level: 1) }
      campaigns(status: ARCHIVED, filter: { oldName: "x", nested: { status: [DRAFT, ARCHIVED] } }) { name }
    }`);
    expect(found.coordinates).toEqual(["@trace(level:)", "Campaign.tickRateMs", "Filter.oldName", "Query.campaign(legacyId:)", "Status.ARCHIVED"]);
  });

  it("finds nothing in an operation without deprecated elements, and follows only the fragments the chosen operation spreads", () => {
    expect(usage('{ campaign(id: "1") { id tickRate } }')).toEqual({ coordinates: [], variables: [] });
    const document = `
      query A { campaign(id: "1") { ...F } }
      query B { campaign(id: "1") { ...G } }
      fragment F on Campaign { ...H }
      fragment H on Campaign { tickRateMs }
      fragment G on Campaign { name }`;
    expect(usage(document, "A").coordinates).toEqual(["Campaign.tickRateMs"]);
    expect(usage(document, "B").coordinates).toEqual([]);
    expect(usage(document).coordinates).toEqual([]); // which operation runs is not known
  });

  it("checks variable values only for variables whose type can hold something deprecated", () => {
    const found = usage("query($s: Status, $f: Filter, $id: ID!) { campaign(id: $id) { id } campaigns(status: $s, filter: $f) { id } }");
    expect(found.variables.map((v) => v.name)).toEqual(["s", "f"]);
    expect(deprecatedInVariables(found, { s: "ARCHIVED", f: { nested: { nested: { oldName: "x", status: "ARCHIVED" } } }, id: "1" }).sort()).toEqual(["Filter.oldName", "Status.ARCHIVED"]);
    expect(deprecatedInVariables(found, { s: "DRAFT", f: { name: "x", constructor: 1 }, id: "1" })).toEqual([]);
    expect(deprecatedInVariables(found, undefined)).toEqual([]);
  });
});
