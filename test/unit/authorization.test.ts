import { buildSubgraphSchema } from "@apollo/subgraph";
import { graphql } from "graphql";
import { gql } from "graphql-tag";
import { claimsOf, enforceAuthorization, type Policies } from "../../packages/service-kit/src/authorization";
import { anonymous, signedIn, type Viewer } from "../../packages/service-kit/src/viewer";

type Context = { viewer: Viewer; owned: Set<string> };

const typeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@authenticated", "@requiresScopes", "@policy"])
  type Query {
    open: String
    signedIn: String @authenticated
    adminOrAnalystReader: String @requiresScopes(scopes: [["admin"], ["analyst", "read"]])
    note(id: ID!): Note @policy(policies: [["owner"]])
  }
  type Note @key(fields: "id") @policy(policies: [["owner"]]) {
    id: ID!
    text: String
    secret: String @requiresScopes(scopes: [["admin"]])
  }
  type Mutation @policy(policies: [["writer"]]) {
    edit(id: ID!): Note @policy(policies: [["owner"]])
    openWrite: String
  }
`;

const notes = (id: string) => ({ id, text: `text of ${id}`, secret: `secret of ${id}` });
const policies: Policies<Context> = {
  owner: ({ typeName, parent, args, context }) => context.owned.has(typeName === "Note" ? (parent as { id: string }).id : String(args.id)),
};

function schemaWith(extra: Policies<Context> = {}) {
  const schema = buildSubgraphSchema([
    {
      typeDefs,
      resolvers: {
        Query: { open: () => "o", signedIn: () => "s", adminOrAnalystReader: () => "r", note: (_: unknown, { id }: { id: string }) => notes(id) },
        Mutation: { edit: (_: unknown, { id }: { id: string }) => notes(id), openWrite: () => "w" },
        Note: { __resolveReference: ({ id }: { id: string }) => notes(id) },
      } as never,
    },
  ]);
  return enforceAuthorization<Context>(schema, { policies: { ...policies, ...extra }, viewerOf: (c) => c.viewer });
}

const schema = schemaWith();
const run = async (source: string, viewer: Viewer, owned: string[] = []) => {
  const result = await graphql({ schema, source, contextValue: { viewer, owned: new Set(owned) } });
  return { data: result.data, codes: (result.errors ?? []).map((e) => e.extensions.code) };
};

const player = signedIn("u1", ["PLAYER"]);
const admin = signedIn("u2", ["ADMIN"]);
const analyst = signedIn("u3", ["ANALYST"]);
const readOnlyKey = signedIn("u4", ["PLAYER"], { credential: "api_key", scopes: ["read"] });

describe("schema-declared authorization", () => {
  it("leaves undirected fields open and asks anonymous callers of @authenticated fields to sign in", async () => {
    expect(await run("{ open }", anonymous)).toEqual({ data: { open: "o" }, codes: [] });
    expect((await run("{ signedIn }", anonymous)).codes).toEqual(["UNAUTHENTICATED"]);
    expect((await run("{ signedIn }", player)).data).toEqual({ signedIn: "s" });
  });

  it("@requiresScopes: any one group, all of its claims", async () => {
    expect((await run("{ adminOrAnalystReader }", admin)).codes).toEqual([]);
    expect((await run("{ adminOrAnalystReader }", analyst)).codes).toEqual([]); // analyst + read
    expect((await run("{ adminOrAnalystReader }", signedIn("u5", ["ANALYST"], { scopes: [] }))).codes).toEqual(["FORBIDDEN"]);
    expect((await run("{ adminOrAnalystReader }", player)).codes).toEqual(["FORBIDDEN"]);
    expect((await run("{ adminOrAnalystReader }", anonymous)).codes).toEqual(["UNAUTHENTICATED"]);
  });

  it("@policy on a root field sees its arguments", async () => {
    expect((await run('{ note(id: "n1") { id } }', player, ["n1"])).codes).toEqual([]);
    expect((await run('{ note(id: "n2") { id } }', player, ["n1"])).codes).toEqual(["FORBIDDEN"]);
    expect((await run('{ note(id: "n2") { id } }', anonymous)).codes).toEqual(["UNAUTHENTICATED"]);
  });

  it("a type-level directive guards every field of the type, also through _entities", async () => {
    const entities = '{ _entities(representations: [{ __typename: "Note", id: "n9" }]) { ... on Note { id text } } }';
    expect((await run(entities, player, ["n9"])).data).toEqual({ _entities: [{ id: "n9", text: "text of n9" }] });
    const refused = await run(entities, player, []);
    expect(refused.codes).toContain("FORBIDDEN");
    expect(JSON.stringify(refused.data)).not.toContain("text of n9");
  });

  it("type-level and field-level directives must both pass", async () => {
    // Note is owned, but its secret also requires admin.
    expect((await run('{ note(id: "n1") { secret } }', player, ["n1"])).codes).toEqual(["FORBIDDEN"]);
    expect((await run('{ note(id: "n1") { secret } }', admin, ["n1"])).data).toEqual({ note: { secret: "secret of n1" } });
    // Mutation's type-level writer AND edit's owner: a writer who does not own it is refused.
    expect((await run('mutation { edit(id: "n1") { id } }', player, [])).codes).toEqual(["FORBIDDEN"]);
    expect((await run('mutation { edit(id: "n1") { id } }', player, ["n1"])).codes).toEqual([]);
  });

  it("the built-in writer policy refuses analysts and read-only keys, saying why", async () => {
    const analystTry = await graphql({ schema, source: "mutation { openWrite }", contextValue: { viewer: analyst, owned: new Set() } });
    expect(analystTry.errors?.[0]?.message).toBe("Analysts have read-only access");
    const keyTry = await graphql({ schema, source: "mutation { openWrite }", contextValue: { viewer: readOnlyKey, owned: new Set() } });
    expect(keyTry.errors?.[0]?.message).toBe("This API key is read-only");
    expect((await run("mutation { openWrite }", anonymous)).codes).toEqual(["UNAUTHENTICATED"]);
    expect((await run("mutation { openWrite }", player)).data).toEqual({ openWrite: "w" });
  });

  it("refuses at start-up a schema naming a policy nobody registered", () => {
    const broken = buildSubgraphSchema([{ typeDefs: gql`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@policy"])
      type Query { x: String @policy(policies: [["nobody"]]) }
    ` }]);
    expect(() => enforceAuthorization(broken, { policies: {}, viewerOf: () => anonymous })).toThrow(/Query\.x uses the unknown policy "nobody"/);
  });

  it("derives claims from roles (lower case) and the credential's scopes", () => {
    expect([...claimsOf(signedIn("u", ["ADMIN", "PLAYER"]))].sort()).toEqual(["admin", "player", "read", "write"]);
    expect([...claimsOf(readOnlyKey)].sort()).toEqual(["player", "read"]);
    expect(claimsOf(anonymous).size).toBe(0);
  });
});
