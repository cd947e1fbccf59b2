import { randomUUID } from "node:crypto";
import { decodeJwt } from "jose";
import { anonymous, type Role, type SubgraphApp } from "@startales/service-kit";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import { MeDocument, RefreshTokenDocument, RegisterDocument, SetUserRolesDocument, UserProfileDocument } from "../generated/operations";
import { identityTestConfig } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { registerUser, type TestUser } from "../testkit/users";

/** Who may see whom, and how admins manage roles, on the identity subgraph alone. */
describe("identity users: profiles, privacy and roles", () => {
  let app: SubgraphApp;
  let url: string;

  beforeAll(async () => {
    app = await createIdentityApp(identityTestConfig(), captureLogs("identity").logger);
    url = `${await app.listen()}/graphql`;
  });
  afterAll(() => app?.stop());

  const newPlayer = async (name: string) => registerUser(url, name, await gatewayHeaders(anonymous));
  const as = (user: TestUser, roles: Role[] = ["PLAYER"]) => gatewayHeaders(asUser(user.user.id, roles));
  const profile = async (id: string, headers: Record<string, string>) => graphql(url, UserProfileDocument, { id }, { headers });
  const setRoles = async (userId: string, roles: Role[], headers: Record<string, string>) =>
    graphql(url, SetUserRolesDocument, { userId, roles }, { headers });

  describe("me", () => {
    it("is null for someone who is not signed in", async () => {
      const response = await graphql(url, MeDocument, {}, { headers: await gatewayHeaders(anonymous) });
      expect(expectData(response).me).toBeNull();
    });

    it("is the signed-in player, with their own email", async () => {
      const player = await newPlayer("Ada");
      const me = expectData(await graphql(url, MeDocument, {}, { headers: await as(player) })).me;
      expect(me).toEqual({ id: player.user.id, displayName: "Ada", email: player.email, roles: ["PLAYER"] });
    });
  });

  describe("as other subgraphs reference users (entities)", () => {
    it("resolves a batch in order, with every field typed, and null for an id that names no one", async () => {
      const [first, second] = [await newPlayer("Batch One"), await newPlayer("Batch Two")];
      const headers = { "content-type": "application/json", ...(await as(first)) };
      const query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id displayName roles createdAt email } } }";
      const representations = [second.user.id, "not-a-uuid", randomUUID(), first.user.id].map((id) => ({ __typename: "User", id }));
      const response = await fetch(url, { method: "POST", headers, body: JSON.stringify({ query, variables: { r: representations } }) });
      const { data } = (await response.json()) as { data: { _entities: ({ id: string; createdAt: string } | null)[] } };
      expect(data._entities.map((entity) => entity && { ...entity, createdAt: typeof entity.createdAt })).toEqual([
        { id: second.user.id, displayName: "Batch Two", roles: ["PLAYER"], createdAt: "string", email: null },
        null,
        null,
        { id: first.user.id, displayName: "Batch One", roles: ["PLAYER"], createdAt: "string", email: first.email },
      ]);
      expect(new Date(data._entities[0]!.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(data._entities[0]!.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    });
  });

  describe("looking up another player", () => {
    it("requires sign-in", async () => {
      const player = await newPlayer("Hidden");
      const response = await profile(player.user.id, await gatewayHeaders(anonymous));
      expect(errorCodes(response)).toEqual(["UNAUTHENTICATED"]);
      expect(response.data?.user ?? null).toBeNull();
    });

    it("answers BAD_USER_INPUT for an id that is not an id", async () => {
      const player = await newPlayer("Curious");
      const response = await profile("not-a-uuid", await as(player));
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
      expect(response.errors?.[0]?.extensions?.fields).toEqual([{ field: "id", message: expect.any(String) }]);
    });

    it("is null for an id nobody has", async () => {
      const player = await newPlayer("Seeker");
      const response = await profile(randomUUID(), await as(player));
      expect(expectData(response).user).toBeNull();
    });

    it("shows another player's public profile but not their email", async () => {
      const alice = await newPlayer("Alice");
      const bob = await newPlayer("Bob");
      const seenByBob = expectData(await profile(alice.user.id, await as(bob))).user;
      expect(seenByBob).toEqual({ id: alice.user.id, displayName: "Alice", email: null });
    });

    it("shows the email to the player themself and to admins", async () => {
      const alice = await newPlayer("Alice");
      const admin = await newPlayer("Admin");
      const seenBySelf = expectData(await profile(alice.user.id, await as(alice))).user;
      expect(seenBySelf?.email).toBe(alice.email);
      const seenByAdmin = expectData(
        await profile(alice.user.id, await as(admin, ["PLAYER", "ADMIN"])),
      ).user;
      expect(seenByAdmin?.email).toBe(alice.email);
    });

    it("does not show the email to game masters or analysts", async () => {
      const alice = await newPlayer("Alice");
      const staff = await newPlayer("Staff");
      for (const roles of [["PLAYER", "GAME_MASTER"], ["ANALYST"]] as const) {
        const seen = expectData(await profile(alice.user.id, await as(staff, [...roles]))).user;
        expect(seen).toEqual({ id: alice.user.id, displayName: "Alice", email: null });
      }
    });
  });

  describe("an admin manages roles", () => {
    it("forbids a player from changing roles, even their own", async () => {
      const player = await newPlayer("Sneaky");
      const response = await setRoles(player.user.id, ["PLAYER", "ADMIN"], await as(player));
      expect(errorCodes(response)).toEqual(["FORBIDDEN"]);

      const me = expectData(await graphql(url, MeDocument, {}, { headers: await as(player) })).me;
      expect(me?.roles).toEqual(["PLAYER"]);
    });

    it("requires sign-in to change roles", async () => {
      const player = await newPlayer("Target");
      const response = await setRoles(player.user.id, ["ADMIN"], await gatewayHeaders(anonymous));
      expect(errorCodes(response)).toEqual(["UNAUTHENTICATED"]);
    });

    it("lets an admin replace a player's roles, and the player's next access token carries them", async () => {
      const admin = await newPlayer("Admin");
      const player = await newPlayer("Rising");
      const response = await setRoles(player.user.id, ["PLAYER", "GAME_MASTER", "PLAYER"], await as(admin, ["PLAYER", "ADMIN"]));
      expect(expectData(response).setUserRoles).toEqual({ id: player.user.id, roles: ["PLAYER", "GAME_MASTER"] });

      const me = expectData(await graphql(url, MeDocument, {}, { headers: await as(player) })).me;
      expect(me?.roles).toEqual(["PLAYER", "GAME_MASTER"]);
      const headers = await gatewayHeaders(anonymous);
      const refreshed = expectData(await graphql(url, RefreshTokenDocument, { refreshToken: player.refreshToken }, { headers })).refreshToken;
      expect(decodeJwt(refreshed.accessToken).roles).toEqual(["PLAYER", "GAME_MASTER"]);
    });

    it("refuses an empty role list", async () => {
      const admin = await newPlayer("Admin");
      const player = await newPlayer("Roleless");
      const response = await setRoles(player.user.id, [], await as(admin, ["ADMIN"]));
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    });

    it("stops an admin from removing their own ADMIN role", async () => {
      const admin = await newPlayer("Admin");
      const response = await setRoles(admin.user.id, ["PLAYER"], await as(admin, ["PLAYER", "ADMIN"]));
      expect(errorCodes(response)).toEqual(["CONFLICT"]);
    });

    it("answers NOT_FOUND for a user that does not exist and BAD_USER_INPUT for a malformed id", async () => {
      const admin = await newPlayer("Admin");
      const headers = await as(admin, ["PLAYER", "ADMIN"]);
      const missing = await setRoles(randomUUID(), ["PLAYER"], headers);
      expect(errorCodes(missing)).toEqual(["NOT_FOUND"]);
      const malformed = await setRoles("42", ["PLAYER"], headers);
      expect(errorCodes(malformed)).toEqual(["BAD_USER_INPUT"]);
      expect(malformed.errors?.[0]?.extensions?.fields).toEqual([{ field: "userId", message: expect.any(String) }]);
    });
  });

  describe("bootstrapping the first operator", () => {
    let operatorApp: SubgraphApp;
    let operatorUrl: string;
    const chiefLocal = `chief-${randomUUID()}`;

    beforeAll(async () => {
      operatorApp = await createIdentityApp(
        identityTestConfig({ BOOTSTRAP_ADMIN_EMAILS: ` someone-else@example.test , ${chiefLocal.toUpperCase()}@Example.Test ` }),
        captureLogs("identity").logger,
      );
      operatorUrl = `${await operatorApp.listen()}/graphql`;
    });
    afterAll(() => operatorApp?.stop());

    it("makes a listed email an admin when it registers, and no one else", async () => {
      const headers = await gatewayHeaders(anonymous);
      const input = { email: `${chiefLocal}@example.test`, password: "operator password", displayName: "Chief" };
      const chief = expectData(await graphql(operatorUrl, RegisterDocument, { input }, { headers })).register;
      expect(chief.user.roles).toEqual(["PLAYER", "ADMIN"]);
      expect(decodeJwt(chief.accessToken).roles).toEqual(["PLAYER", "ADMIN"]);

      const player = await registerUser(operatorUrl, "Regular", headers);
      expect(player.user.roles).toEqual(["PLAYER"]);
    });
  });
});
