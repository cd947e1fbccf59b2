import { randomBytes, randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { IDENTITY_HEADER, anonymous, type SubgraphApp, type Viewer } from "@startales/service-kit";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import { MeDocument, UserProfileDocument } from "../generated/operations";
import { identityTestConfig, required } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { registerUser, type TestUser } from "../testkit/users";

// Federation's own fields are not in the supergraph that codegen types, so these stay raw.
const ENTITIES = /* GraphQL */ `
  query UserEntities($representations: [_Any!]!) {
    _entities(representations: $representations) {
      __typename
      ... on User {
        id
        displayName
        roles
        email
      }
    }
  }
`;
const SERVICE_SDL = /* GraphQL */ `
  query SubgraphSdl {
    _service {
      sdl
    }
  }
`;

type UserEntity = { __typename: "User"; id: string; displayName: string; roles: string[]; email: string | null } | null;

/** The identity subgraph as a process in the supergraph: who may call it, what the gateway asks it, how it is watched. */
describe("identity as a subgraph behind the gateway", () => {
  let app: SubgraphApp;
  let baseUrl: string;
  let url: string;

  beforeAll(async () => {
    app = await createIdentityApp(identityTestConfig(), captureLogs("identity").logger);
    baseUrl = await app.listen();
    url = `${baseUrl}/graphql`;
  });
  afterAll(() => app?.stop());

  const newPlayer = async (name: string): Promise<TestUser> => registerUser(url, name, await gatewayHeaders(anonymous));
  const entities = async (representations: { __typename: string; id: string }[], viewer: Viewer = anonymous) =>
    postGraphQL<{ _entities: UserEntity[] }>(url, { query: ENTITIES, variables: { representations } }, { headers: await gatewayHeaders(viewer) });

  describe("only the gateway may call it", () => {
    const expectRejected = (response: GraphQLResponse<unknown>) => {
      expect({ status: response.status, codes: errorCodes(response) }).toEqual({ status: 401, codes: ["UNAUTHENTICATED"] });
      expect(response.data ?? null).toBeNull();
    };
    type AssertionOptions = { issuer?: string; audience?: string; issuedAt: number; expiresAt: number; sub?: string };
    const assertion = (options: AssertionOptions) =>
      new SignJWT({ roles: ["PLAYER", "ADMIN"], rid: randomUUID() })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer(options.issuer ?? "startales-gateway")
        .setAudience(options.audience ?? "startales-subgraphs")
        .setSubject(options.sub ?? randomUUID())
        .setIssuedAt(options.issuedAt)
        .setExpirationTime(options.expiresAt)
        .sign(new TextEncoder().encode(required("TEST_GATEWAY_SIGNING_SECRET")));
    const now = () => Math.floor(Date.now() / 1000);

    it("accepts a request carrying the gateway's signed identity", async () => {
      const response = await graphql(url, MeDocument, {}, { headers: await gatewayHeaders(anonymous) });
      expect(response.status).toBe(200);
      expect(expectData(response).me).toBeNull();
    });

    it("refuses a request without the identity header with 401", async () => {
      expectRejected(await graphql(url, MeDocument, {}));
    });

    it("refuses an identity signed with another secret with 401", async () => {
      const player = await newPlayer("Mallory");
      const forged = await gatewayHeaders(asUser(player.user.id, ["PLAYER", "ADMIN"]), randomBytes(48).toString("base64url"));
      expectRejected(await graphql(url, MeDocument, {}, { headers: forged }));
    });

    it("refuses an expired identity with 401", async () => {
      const player = await newPlayer("Late");
      const expired = await assertion({ sub: player.user.id, issuedAt: now() - 600, expiresAt: now() - 540 });
      expectRejected(await graphql(url, MeDocument, {}, { headers: { [IDENTITY_HEADER]: expired } }));
    });

    it("refuses an identity meant for someone else or issued by someone else with 401", async () => {
      const wrongAudience = await assertion({ audience: "startales", issuedAt: now(), expiresAt: now() + 60 });
      const wrongIssuer = await assertion({ issuer: "startales-identity", issuedAt: now(), expiresAt: now() + 60 });
      for (const token of [wrongAudience, wrongIssuer, "not-a-jwt"]) {
        expectRejected(await graphql(url, MeDocument, {}, { headers: { [IDENTITY_HEADER]: token } }));
      }
    });

    it("trusts a fresh assertion signed with the gateway's secret", async () => {
      const player = await newPlayer("Trusted");
      const fresh = await assertion({ sub: player.user.id, issuedAt: now(), expiresAt: now() + 60 });
      const me = expectData(await graphql(url, MeDocument, {}, { headers: { [IDENTITY_HEADER]: fresh } })).me;
      expect(me?.id).toBe(player.user.id);
    });
  });

  describe("federation", () => {
    it("resolves several users in one _entities call, null for an unknown id, in order", async () => {
      const alice = await newPlayer("Alice");
      const bob = await newPlayer("Bob");
      const representations = [alice, { user: { id: randomUUID() } }, bob].map((u) => ({ __typename: "User", id: u.user.id }));

      expect(expectData(await entities(representations))._entities).toEqual([
        { __typename: "User", id: alice.user.id, displayName: "Alice", roles: ["PLAYER"], email: null },
        null,
        { __typename: "User", id: bob.user.id, displayName: "Bob", roles: ["PLAYER"], email: null },
      ]);
    });

    it("keeps email private in entity resolution too: only the user themself sees it", async () => {
      const alice = await newPlayer("Alice");
      const bob = await newPlayer("Bob");
      const representations = [alice, bob].map((u) => ({ __typename: "User", id: u.user.id }));

      const seenByAlice = expectData(await entities(representations, asUser(alice.user.id)))._entities;
      expect(seenByAlice.map((e) => e?.email)).toEqual([alice.email, null]);
    });

    it("answers null, not an error, for a representation whose id is malformed", async () => {
      const alice = await newPlayer("Alice");
      const representations = [{ __typename: "User", id: "not-a-uuid" }, { __typename: "User", id: alice.user.id }];
      expect(expectData(await entities(representations))._entities.map((e) => e?.id ?? null)).toEqual([null, alice.user.id]);
    });

    it("publishes its SDL with User keyed by id", async () => {
      const headers = await gatewayHeaders(anonymous);
      const { sdl } = expectData(await postGraphQL<{ _service: { sdl: string } }>(url, { query: SERVICE_SDL }, { headers }))._service;
      // Federation 2 SDL prints the directive on its own line: `type User\n  @key(fields: "id")\n{`.
      expect(sdl).toMatch(/type User\s+@key\(fields: "id"\)\s*\{/);
      expect(sdl).toMatch(/type Mutation \{[\s\S]*register\(input: RegisterInput!\): AuthPayload!/);
    });
  });

  describe("health and metrics", () => {
    it("is alive", async () => {
      const response = await fetch(`${baseUrl}/health/live`);
      expect(response.status).toBe(200);
    });

    it("is ready when its database and Redis answer", async () => {
      const response = await fetch(`${baseUrl}/health/ready`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ready: true, checks: { database: "ok", redis: "ok" } });
    });

    it("exposes request durations and counts errors by code", async () => {
      const errorsOf = (text: string) => {
        const line = text
          .split("\n")
          .find((l) => l.startsWith("graphql_errors_total{") && l.includes('code="BAD_USER_INPUT"') && l.includes('operation="UserProfile"'));
        return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
      };
      const player = await newPlayer("Counter");
      const before = await (await fetch(`${baseUrl}/metrics`)).text();

      const headers = await gatewayHeaders(asUser(player.user.id));
      const failing = await graphql(url, UserProfileDocument, { id: "nope" }, { headers });
      expect(errorCodes(failing)).toEqual(["BAD_USER_INPUT"]);

      const response = await fetch(`${baseUrl}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
      const after = await response.text();
      expect(after).toMatch(/^graphql_request_duration_seconds_count\{[^}]*operation="Register"[^}]*\} [1-9]/m);
      expect(after).toMatch(/^graphql_errors_total\{[^}]*code="BAD_USER_INPUT"[^}]*\} \d+/m);
      expect(errorsOf(after)).toBe(errorsOf(before) + 1);
    });
  });
});
