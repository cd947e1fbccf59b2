import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import {
  CreateApiKeyDocument,
  CreateCampaignDocument,
  CreateServiceAccountDocument,
  CreateServiceApiKeyDocument,
  LoginDocument,
  MeDocument,
  MyApiKeysDocument,
  MyCampaignsDocument,
  RevokeApiKeyDocument,
  type ApiKeyScope,
} from "../generated/operations";
import { gatewayTestConfig, required } from "../testkit/config";
import { errorCodes, expectData, graphql, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { untilReady } from "../testkit/ready";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";


/**
 * Tools and services call the gateway with `X-Api-Key`, like a client would: the gateway
 * verifies the key with identity, caches the answer, and drops it the moment it is revoked,
 * on every gateway that shares Redis.
 */
describe("a tool calls the gateway with an API key", () => {
  let stack: Stack;
  // A second gateway in front of the same subgraphs and Redis, as in a deployment with
  // replicas; its cache outlives the test, so only an announced revocation can clear it.
  let replica: GatewayApp;
  let replicaUrl: string;

  beforeAll(async () => {
    stack = await startStack();
    replica = createGatewayApp(
      gatewayTestConfig({ identity: stack.identityUrl, campaign: stack.campaignUrl }, `${stack.identityUrl}/.well-known/jwks.json`, {
        API_KEY_CACHE_TTL_MS: "600000",
      }),
      captureLogs("gateway").logger as Logger,
    );
    const replicaBase = await replica.listen();
    replicaUrl = `${replicaBase}/graphql`;
    await Promise.all([untilReady(stack.gatewayUrl), untilReady(replicaBase)]);
  });
  afterAll(async () => {
    await replica?.stop();
    await stack?.stop();
  });

  const withKey = (key: string) => ({ headers: { "x-api-key": key } });
  const createKey = async (user: TestUser, scopes: ApiKeyScope[], name = "tool") =>
    expectData(await graphql(stack.graphqlUrl, CreateApiKeyDocument, { input: { name, scopes } }, { token: user.accessToken })).createApiKey;
  const expectUnauthenticated = (response: GraphQLResponse<unknown>) => {
    expect({ status: response.status, codes: errorCodes(response) }).toEqual({ status: 401, codes: ["UNAUTHENTICATED"] });
    expect(response.data ?? null).toBeNull();
  };
  /** How many times identity was asked to verify a key (successfully). */
  const verifications = async () =>
    metricValue(await fetchMetrics(stack.identityUrl), "http_request_duration_seconds_count", {
      route: "/internal/api-keys/verify",
      method: "POST",
      status: "200",
    }) ?? 0;

  it("reads with a READ key, but cannot write with it", async () => {
    const alice = await registerUser(stack.graphqlUrl, "Alice");
    const campaign = expectData(
      await graphql(stack.graphqlUrl, CreateCampaignDocument, { input: { name: "Vega Accord" } }, { token: alice.accessToken }),
    ).createCampaign;
    const { key } = await createKey(alice, ["READ"], "dashboard");

    const me = expectData(await graphql(stack.graphqlUrl, MeDocument, {}, withKey(key))).me;
    expect(me).toMatchObject({ id: alice.user.id, displayName: "Alice", roles: ["PLAYER"] });
    const mine = expectData(await graphql(stack.graphqlUrl, MyCampaignsDocument, {}, withKey(key))).myCampaigns;
    expect(mine.map((c) => c.id)).toEqual([campaign.id]);

    const write = await graphql(stack.graphqlUrl, CreateCampaignDocument, { input: { name: "Not Allowed" } }, withKey(key));
    expect(errorCodes(write)).toEqual(["FORBIDDEN"]);
    expect(write.data ?? null).toBeNull();
    const after = expectData(await graphql(stack.graphqlUrl, MyCampaignsDocument, {}, { token: alice.accessToken })).myCampaigns;
    expect(after.map((c) => c.id)).toEqual([campaign.id]);
  });

  it("creates a campaign with a READ+WRITE key, as the key's owner", async () => {
    const bob = await registerUser(stack.graphqlUrl, "Bob");
    const { key } = await createKey(bob, ["READ", "WRITE"], "campaign bot");
    const created = expectData(
      await graphql(stack.graphqlUrl, CreateCampaignDocument, { input: { name: "Bot Frontier" } }, withKey(key)),
    ).createCampaign;
    expect(created).toMatchObject({ name: "Bot Frontier", myMembership: { role: "GAME_MASTER" }, gameMaster: { id: bob.user.id } });
  });

  it("refuses a revoked key at once, on this gateway and on a replica that had it cached", async () => {
    const carol = await registerUser(stack.graphqlUrl, "Carol");
    const { key, apiKey } = await createKey(carol, ["READ"], "soon revoked");

    const before = await verifications();
    for (const url of [stack.graphqlUrl, stack.graphqlUrl, replicaUrl, replicaUrl]) {
      expect(expectData(await graphql(url, MeDocument, {}, withKey(key))).me?.id).toBe(carol.user.id);
    }
    // Each gateway asked identity once and then answered from its cache.
    expect((await verifications()) - before).toBe(2);

    expectData(await graphql(stack.graphqlUrl, RevokeApiKeyDocument, { id: apiKey.id }, { token: carol.accessToken }));
    expectUnauthenticated(await graphql(replicaUrl, MeDocument, {}, withKey(key)));
    expectUnauthenticated(await graphql(stack.graphqlUrl, MeDocument, {}, withKey(key)));
  });

  it("answers 401 UNAUTHENTICATED to a garbage key and to a well-formed key nobody issued", async () => {
    const made = `stk_${randomBytes(4).toString("hex")}_${randomBytes(32).toString("hex")}`;
    for (const key of ["garbage", "stk_", made]) {
      expectUnauthenticated(await graphql(stack.graphqlUrl, MeDocument, {}, withKey(key)));
    }
  });

  it("refuses a request that carries both an access token and an API key", async () => {
    const dave = await registerUser(stack.graphqlUrl, "Dave");
    const { key } = await createKey(dave, ["READ"]);
    const both = await graphql(stack.graphqlUrl, MeDocument, {}, { token: dave.accessToken, ...withKey(key) });
    expect({ status: both.status, codes: errorCodes(both) }).toEqual({ status: 400, codes: ["BAD_USER_INPUT"] });
  });

  it("shows in myApiKeys when a key was last used", async () => {
    const erin = await registerUser(stack.graphqlUrl, "Erin");
    const { key, apiKey } = await createKey(erin, ["READ"], "reporter");
    const listed = async () => expectData(await graphql(stack.graphqlUrl, MyApiKeysDocument, {}, { token: erin.accessToken })).myApiKeys;
    expect((await listed()).find((k) => k.id === apiKey.id)?.lastUsedAt).toBeNull();

    expectData(await graphql(stack.graphqlUrl, MeDocument, {}, withKey(key)));
    const used = (await listed()).find((k) => k.id === apiKey.id);
    expect(used?.lastUsedAt).toEqual(expect.any(String));
    expect(new Date(used!.lastUsedAt!).getTime()).toBeGreaterThanOrEqual(new Date(used!.createdAt).getTime());
  });

  it("never writes a key to any service's log", async () => {
    const frank = await registerUser(stack.graphqlUrl, "Frank");
    const { key, apiKey } = await createKey(frank, ["READ"], "quiet");
    expectData(await graphql(stack.graphqlUrl, MeDocument, {}, withKey(key)));
    expectData(await graphql(stack.graphqlUrl, RevokeApiKeyDocument, { id: apiKey.id }, { token: frank.accessToken }));
    expectUnauthenticated(await graphql(stack.graphqlUrl, MeDocument, {}, withKey(key)));
    for (const service of Object.keys(stack.logs) as (keyof Stack["logs"])[]) {
      expect(stack.logs[service].raw()).not.toContain(key.slice(13));
    }
  });

  it("lets an admin give a service a key that acts as the service", async () => {
    const operator = await registerUser(stack.graphqlUrl, "Operator");
    // The stack's identity has no bootstrap admins: promote this one in its database.
    const db = new pg.Client({ connectionString: required("IDENTITY_DATABASE_URL") });
    await db.connect();
    try {
      await db.query(`UPDATE users SET roles = '{PLAYER,ADMIN}' WHERE id = $1`, [operator.user.id]);
    } finally {
      await db.end();
    }
    const admin = expectData(
      await graphql(stack.graphqlUrl, LoginDocument, { input: { email: operator.email, password: operator.password } }),
    ).login;
    const service = expectData(
      await graphql(stack.graphqlUrl, CreateServiceAccountDocument, { input: { name: "Tick scheduler" } }, { token: admin.accessToken }),
    ).createServiceAccount;
    const { key } = expectData(
      await graphql(
        stack.graphqlUrl,
        CreateServiceApiKeyDocument,
        { serviceAccountId: service.id, input: { name: "prod", scopes: ["WRITE"] } },
        { token: admin.accessToken },
      ),
    ).createServiceApiKey;

    const me = expectData(await graphql(stack.graphqlUrl, MeDocument, {}, withKey(key))).me;
    expect(me).toMatchObject({ id: service.id, displayName: "Tick scheduler", roles: ["SERVICE"] });
    // A service's key cannot mint more keys: only an admin, signed in, can.
    const minted = await graphql(stack.graphqlUrl, CreateApiKeyDocument, { input: { name: "more", scopes: ["READ"] } }, withKey(key));
    expect(errorCodes(minted)).toEqual(["FORBIDDEN"]);
  });
});
