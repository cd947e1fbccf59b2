import { generateKeyPairSync } from "node:crypto";
import { SignJWT, calculateJwkThumbprint, exportJWK } from "jose";
import { createPrivateKey, createPublicKey } from "node:crypto";
import {
  CampaignWithMembersDocument,
  CreateCampaignDocument,
  JoinCampaignDocument,
  LoginDocument,
  MeDocument,
  RefreshTokenDocument,
} from "../generated/operations";
import { errorCodes, expectData, graphql, postGraphQL } from "../testkit/graphql-client";
import { startStack, type Stack } from "../testkit/stack";
import { activeSubscriptions, subscribe, untilSubscribed, wsClient } from "../testkit/subscriptions";
import { registerUser, type TestUser } from "../testkit/users";
import { required } from "../testkit/config";

/**
 * The foundation story, through the gateway like a client: two players sign up, one
 * creates a campaign, the other joins, and members are resolved across subgraphs.
 */
describe("a player signs up, creates a campaign and a friend joins it", () => {
  let stack: Stack;
  /** Every email, password and token this suite sends or receives: none may reach a log. */
  const seeded: string[] = [];
  const seed = (user: TestUser) => {
    seeded.push(user.email, user.password, user.accessToken, user.refreshToken);
    return user;
  };
  beforeAll(async () => {
    stack = await startStack(); // debug level: one log line per request in every service
  });
  afterAll(() => stack.stop());

  it("runs the whole journey through the gateway", async () => {
    const url = stack.graphqlUrl;
    const alice = seed(await registerUser(url, "Alice"));
    const bob = seed(await registerUser(url, "Bob"));
    const eve = seed(await registerUser(url, "Eve"));

    const login = expectData(await graphql(url, LoginDocument, { input: { email: alice.email.toUpperCase(), password: alice.password } }));
    seeded.push(login.login.accessToken, login.login.refreshToken);
    expect(login.login.user.id).toBe(alice.user.id);

    const me = expectData(await graphql(url, MeDocument, {}, { token: login.login.accessToken }));
    expect(me.me).toMatchObject({ id: alice.user.id, displayName: "Alice", email: alice.email, roles: ["PLAYER"] });

    const created = expectData(
      await graphql(url, CreateCampaignDocument, { input: { name: "Orion Rising", maxPlayers: 8 } }, { token: alice.accessToken }),
    ).createCampaign;
    expect(created).toMatchObject({ name: "Orion Rising", status: "DRAFT", tickRateMs: 1000, maxPlayers: 8, memberCount: 1 });
    expect(created.myMembership?.role).toBe("GAME_MASTER");
    expect(created.gameMaster).toEqual({ id: alice.user.id, displayName: "Alice" });

    const joined = expectData(await graphql(url, JoinCampaignDocument, { campaignId: created.id }, { token: bob.accessToken }));
    expect(joined.joinCampaign).toMatchObject({ role: "PLAYER", user: { id: bob.user.id, displayName: "Bob" }, campaign: { memberCount: 2 } });

    // Membership lives in campaign, displayName in identity: the gateway joins them.
    const campaign = expectData(await graphql(url, CampaignWithMembersDocument, { id: created.id }, { token: bob.accessToken })).campaign;
    expect(campaign?.members.map((m) => [m.role, m.user.displayName])).toEqual([
      ["GAME_MASTER", "Alice"],
      ["PLAYER", "Bob"],
    ]);
    expect(campaign?.seed).toBeNull(); // only the game master sees the seed

    const asOutsider = await graphql(url, CampaignWithMembersDocument, { id: created.id }, { token: eve.accessToken });
    expect(errorCodes(asOutsider)).toEqual(["FORBIDDEN"]);
    expect(asOutsider.data?.campaign ?? null).toBeNull();
  });

  it("plays live over WebSocket: chat in the campaign channel and the campaign's events", async () => {
    const url = stack.graphqlUrl;
    const alice = seed(await registerUser(url, "Alice"));
    const bob = seed(await registerUser(url, "Bob"));
    const id = expectData(await graphql(url, CreateCampaignDocument, { input: { name: "Live Orion" } }, { token: alice.accessToken })).createCampaign.id;
    expectData(await graphql(url, JoinCampaignDocument, { campaignId: id }, { token: bob.accessToken }));
    const channel = expectData(await postGraphQL<{ campaignChannel: { id: string } }>(url, { query: "query($id: ID!) { campaignChannel(campaignId: $id) { id } }", variables: { id } }, { token: alice.accessToken }));

    const aliceSocket = wsClient(url, { token: alice.accessToken });
    const bobSocket = wsClient(url, { token: bob.accessToken });
    try {
      const before = await activeSubscriptions(stack.gatewayUrl);
      const chat = subscribe<{ messageAdded: { text: string; author: { displayName: string } } }>(
        aliceSocket,
        "subscription($c: ID!) { messageAdded(channelId: $c) { text author { displayName } } }",
        { c: channel.campaignChannel.id },
      );
      const events = subscribe<{ campaignEvents: { type: string; campaign: { status: string } } }>(
        bobSocket,
        "subscription($id: ID!) { campaignEvents(campaignId: $id) { type campaign { status } } }",
        { id },
      );
      await untilSubscribed(stack.gatewayUrl, before, { count: 2 });

      const posted = await postGraphQL(
        url,
        { query: 'mutation($c: ID!, $k: String!) { postMessage(channelId: $c, text: "Ready when you are", idempotencyKey: $k) { id } }', variables: { c: channel.campaignChannel.id, k: `journey-${id}` } },
        { token: bob.accessToken },
      );
      expectData(posted);
      await chat.waitFor(1);
      // The text is realtime's, the author's name identity's: joined by the gateway per event.
      expect(chat.results[0]!.data!.messageAdded).toEqual({ text: "Ready when you are", author: { displayName: "Bob" } });

      expectData(await postGraphQL(url, { query: "mutation($id: ID!) { startCampaign(id: $id) { id } }", variables: { id } }, { token: alice.accessToken }));
      await events.waitFor(1);
      expect(events.results[0]!.data!.campaignEvents).toEqual({ type: "CAMPAIGN_STARTED", campaign: { status: "RUNNING" } });
    } finally {
      await aliceSocket.dispose();
      await bobSocket.dispose();
    }
  });

  it("answers bad input with BAD_USER_INPUT naming the field", async () => {
    const alice = seed(await registerUser(stack.graphqlUrl, "Alice"));
    const response = await graphql(stack.graphqlUrl, CreateCampaignDocument, { input: { name: "x", tickRateMs: 5 } }, { token: alice.accessToken });
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    const fields = (response.errors?.[0]?.extensions?.fields as { field: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(["name", "tickRateMs"]);
  });

  it("rotates refresh tokens and rejects a reused one", async () => {
    const url = stack.graphqlUrl;
    const alice = seed(await registerUser(url, "Alice"));
    const first = expectData(await graphql(url, RefreshTokenDocument, { refreshToken: alice.refreshToken })).refreshToken;
    seeded.push(first.accessToken, first.refreshToken);
    expect(first.refreshToken).not.toBe(alice.refreshToken);
    expect(expectData(await graphql(url, MeDocument, {}, { token: first.accessToken })).me?.id).toBe(alice.user.id);

    const reused = await graphql(url, RefreshTokenDocument, { refreshToken: alice.refreshToken });
    expect(errorCodes(reused)).toEqual(["UNAUTHENTICATED"]);
    // Reuse revoked the whole family: the newest token of that sign-in is dead too.
    const afterReuse = await graphql(url, RefreshTokenDocument, { refreshToken: first.refreshToken });
    expect(errorCodes(afterReuse)).toEqual(["UNAUTHENTICATED"]);
  });

  it("rejects forged and expired access tokens with UNAUTHENTICATED", async () => {
    const url = stack.graphqlUrl;
    const alice = seed(await registerUser(url, "Alice"));
    const realKey = createPrivateKey(required("TEST_JWT_PRIVATE_KEY"));
    const kid = await calculateJwkThumbprint(await exportJWK(createPublicKey(realKey)));
    const claims = { roles: ["PLAYER", "ADMIN"] };
    const base = () =>
      new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid }).setIssuer("startales-identity").setAudience("startales").setSubject(alice.user.id);

    const forged = await base().setIssuedAt().setExpirationTime("5m").sign(generateKeyPairSync("ed25519").privateKey);
    const expired = await base().setIssuedAt(Math.floor(Date.now() / 1000) - 3600).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(realKey);
    const tampered = `${alice.accessToken.slice(0, -4)}AAAA`;
    seeded.push(forged, expired, tampered);

    for (const token of [forged, expired, tampered, "not-a-jwt"]) {
      const response = await graphql(url, MeDocument, {}, { token });
      expect({ status: response.status, codes: errorCodes(response) }).toEqual({ status: 401, codes: ["UNAUTHENTICATED"] });
    }
    const expiredResponse = await graphql(url, MeDocument, {}, { token: expired });
    expect(expiredResponse.errors?.[0]?.message).toMatch(/expired/);
  });

  it("leaves no email, password or token in any service's logs (run last)", () => {
    expect(seeded.length).toBeGreaterThan(20);
    for (const service of Object.keys(stack.logs) as (keyof Stack["logs"])[]) {
      const text = stack.logs[service].raw();
      // The services this journey calls must have logged (else the scan proves nothing).
      if (["gateway", "identity", "campaign", "realtime"].includes(service)) expect({ service, logged: text.length > 0 }).toEqual({ service, logged: true });
      const leaked = seeded.filter((value) => text.includes(value) || text.includes(value.toLowerCase()));
      expect({ service, leaked }).toEqual({ service, leaked: [] });
    }
  });
});
