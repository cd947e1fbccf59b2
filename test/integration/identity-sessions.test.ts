import { randomUUID } from "node:crypto";
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from "jose";
import pg from "pg";
import { anonymous, type SubgraphApp } from "@startales/service-kit";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import { LoginDocument, LogoutDocument, MeDocument, RefreshTokenDocument, RegisterDocument } from "../generated/operations";
import { identityTestConfig, required } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { registerUser } from "../testkit/users";

/**
 * Sign-up, sign-in and the life of a refresh-token family, against the identity subgraph
 * alone (as the gateway would call it) and its real PostgreSQL database.
 */
describe("identity sessions: a player signs up, signs in and keeps their session alive", () => {
  const logs = captureLogs("identity");
  let app: SubgraphApp;
  let baseUrl: string;
  let url: string;
  let db: pg.Client;

  beforeAll(async () => {
    app = await createIdentityApp(identityTestConfig(), logs.logger);
    baseUrl = await app.listen();
    url = `${baseUrl}/graphql`;
    db = new pg.Client({ connectionString: required("IDENTITY_DATABASE_URL") });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await app?.stop();
  });

  const uniqueEmail = (prefix: string) => `${prefix}-${randomUUID()}@example.test`;
  const asAnonymous = () => gatewayHeaders(anonymous);
  const register = async (input: { email: string; password: string; displayName: string }) =>
    graphql(url, RegisterDocument, { input }, { headers: await asAnonymous() });
  const login = async (email: string, password: string) =>
    graphql(url, LoginDocument, { input: { email, password } }, { headers: await asAnonymous() });
  const refresh = async (refreshToken: string) =>
    graphql(url, RefreshTokenDocument, { refreshToken }, { headers: await asAnonymous() });
  const logout = async (refreshToken: string) => graphql(url, LogoutDocument, { refreshToken }, { headers: await asAnonymous() });
  const fieldsOf = (response: GraphQLResponse<unknown>) =>
    [...new Set(((response.errors?.[0]?.extensions?.fields ?? []) as { field: string }[]).map((f) => f.field))].sort();

  describe("registering", () => {
    it("gives a new player a session and stores their email trimmed and lower-cased", async () => {
      const local = `Nova.Star-${randomUUID()}`;
      const response = await register({ email: `  ${local}@Example.TEST `, password: "correct horse battery", displayName: "  Nova  " });
      const session = expectData(response).register;

      expect(session.accessToken).toEqual(expect.any(String));
      expect(session.refreshToken).toEqual(expect.any(String));
      expect(session.refreshToken).not.toBe(session.accessToken);
      expect(new Date(session.expiresAt).getTime()).toBeGreaterThan(Date.now());
      expect(session.user).toMatchObject({ displayName: "Nova", roles: ["PLAYER"] });

      const { rows } = await db.query<{ email: string; display_name: string }>("SELECT email, display_name FROM users WHERE id = $1", [
        session.user.id,
      ]);
      expect(rows).toEqual([{ email: `${local.toLowerCase()}@example.test`, display_name: "Nova" }]);

      // The new player signs in with the address typed any way they like.
      const signedIn = expectData(await login(`${local.toUpperCase()}@EXAMPLE.test`, "correct horse battery")).login;
      expect(signedIn.user.id).toBe(session.user.id);
    });

    it("shows the new player their own email in the payload they just received", async () => {
      const email = uniqueEmail("self");
      const session = expectData(await register({ email, password: "a long password", displayName: "Self" })).register;
      expect(session.user.email).toBe(email);
      const signedIn = expectData(await login(email, "a long password")).login;
      expect(signedIn.user.email).toBe(email);
    });

    it("refuses a second account for the same email, whatever its case, with CONFLICT", async () => {
      const email = uniqueEmail("twin");
      expectData(await register({ email, password: "first password", displayName: "Twin" }));

      const duplicate = await register({ email: ` ${email.toUpperCase()}`, password: "second password", displayName: "Twin Two" });
      expect(errorCodes(duplicate)).toEqual(["CONFLICT"]);
      expect(duplicate.data ?? null).toBeNull();
      const { rows } = await db.query("SELECT id FROM users WHERE email = $1", [email]);
      expect(rows).toHaveLength(1);
    });

    it("names every invalid field in one BAD_USER_INPUT error", async () => {
      const response = await register({ email: "not-an-email", password: "short", displayName: "<script>" });
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
      expect(fieldsOf(response)).toEqual(["displayName", "email", "password"]);
      const fields = response.errors?.[0]?.extensions?.fields as { field: string; message: string }[];
      expect(fields.find((f) => f.field === "password")?.message).toMatch(/at least 8/);
    });

    it.each([
      ["too short", "x"],
      ["too long", "x".repeat(33)],
      ["only spaces", "     "],
      ["markup characters", "Bob<b>"],
    ])("rejects a display name that is %s", async (_case, displayName) => {
      const response = await register({ email: uniqueEmail("name"), password: "a long password", displayName });
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
      expect(fieldsOf(response)).toEqual(["displayName"]);
    });

    it("never stores the password itself, only an argon2id hash", async () => {
      const password = `secret-${randomUUID()}`;
      const session = expectData(await register({ email: uniqueEmail("hash"), password, displayName: "Hashed" })).register;
      const { rows } = await db.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE id = $1", [session.user.id]);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.password_hash.startsWith("$argon2id$")).toBe(true);
      expect(rows[0]?.password_hash).not.toContain(password);
    });
  });

  describe("signing in", () => {
    it("opens a session with the right password", async () => {
      const player = await registerUser(url, "Lyra", await asAnonymous());
      const session = expectData(await login(player.email, player.password)).login;
      expect(session.user).toMatchObject({ id: player.user.id, displayName: "Lyra", roles: ["PLAYER"] });
      expect(session.refreshToken).not.toBe(player.refreshToken);
    });

    it("does not tell a wrong password apart from an unknown email", async () => {
      const player = await registerUser(url, "Vega", await asAnonymous());
      const wrongPassword = await login(player.email, `${player.password}-nope`);
      const unknownEmail = await login(uniqueEmail("nobody"), player.password);

      expect(errorCodes(wrongPassword)).toEqual(["UNAUTHENTICATED"]);
      expect(errorCodes(unknownEmail)).toEqual(["UNAUTHENTICATED"]);
      expect(wrongPassword.errors?.[0]?.message).toBe(unknownEmail.errors?.[0]?.message);
      expect(wrongPassword.data ?? null).toBeNull();
      expect(unknownEmail.data ?? null).toBeNull();
    });
  });

  describe("the access token", () => {
    it("is an EdDSA JWT the gateway can verify with the published JWKS", async () => {
      const player = await registerUser(url, "Orion", await asAnonymous());

      const jwksResponse = await fetch(`${baseUrl}/.well-known/jwks.json`);
      expect(jwksResponse.status).toBe(200);
      const jwks = (await jwksResponse.json()) as JSONWebKeySet;
      expect(jwks.keys.length).toBeGreaterThan(0);
      for (const key of jwks.keys) expect(key).not.toHaveProperty("d"); // public halves only

      const { payload, protectedHeader } = await jwtVerify(player.accessToken, createLocalJWKSet(jwks), {
        issuer: "startales-identity",
        audience: "startales",
        algorithms: ["EdDSA"],
      });
      expect(protectedHeader.alg).toBe("EdDSA");
      expect(jwks.keys.map((k) => k.kid)).toContain(protectedHeader.kid);
      expect(payload.sub).toBe(player.user.id);
      expect(payload.roles).toEqual(["PLAYER"]);
      expect(payload.iss).toBe("startales-identity");
      expect(payload.aud).toBe("startales");
      expect(payload.exp).toBe((payload.iat ?? 0) + 900);
      expect(new Date(player.expiresAt).getTime()).toBe((payload.exp ?? 0) * 1000);
    });
  });

  describe("refreshing", () => {
    it("rotates the refresh token: the new one works, the old one is refused", async () => {
      const player = await registerUser(url, "Rigel", await asAnonymous());
      const rotated = expectData(await refresh(player.refreshToken)).refreshToken;
      expect(rotated.refreshToken).not.toBe(player.refreshToken);
      expect(rotated.user.id).toBe(player.user.id);
      expect(decodeJwt(rotated.accessToken).sub).toBe(player.user.id);

      const old = await refresh(player.refreshToken);
      expect(errorCodes(old)).toEqual(["UNAUTHENTICATED"]);
    });

    it("treats reuse of a rotated token as theft and signs out the whole family", async () => {
      const player = await registerUser(url, "Deneb", await asAnonymous());
      const second = expectData(await refresh(player.refreshToken)).refreshToken;
      const third = expectData(await refresh(second.refreshToken)).refreshToken;

      expect(errorCodes(await refresh(player.refreshToken))).toEqual(["UNAUTHENTICATED"]);
      // The thief's replay killed the newest token, which had never been used.
      expect(errorCodes(await refresh(third.refreshToken))).toEqual(["UNAUTHENTICATED"]);

      const { rows } = await db.query<{ revoked: number; total: number }>(
        "SELECT count(*) FILTER (WHERE revoked_at IS NOT NULL)::int AS revoked, count(*)::int AS total FROM refresh_tokens WHERE user_id = $1",
        [player.user.id],
      );
      expect(rows[0]).toEqual({ revoked: 3, total: 3 });
    });

    it("lets exactly one of two simultaneous refreshes with the same token win", async () => {
      const player = await registerUser(url, "Altair", await asAnonymous());
      const [first, second] = await Promise.all([refresh(player.refreshToken), refresh(player.refreshToken)]);
      const outcomes = [first, second].map((r) => (r.errors?.length ? errorCodes(r).join(",") : "ok")).sort();
      expect(outcomes).toEqual(["UNAUTHENTICATED", "ok"]);

      const { rows } = await db.query("SELECT id FROM refresh_tokens WHERE user_id = $1 AND used_at IS NOT NULL", [player.user.id]);
      expect(rows).toHaveLength(1);
    });

    it("refuses an expired refresh token", async () => {
      const player = await registerUser(url, "Sirius", await asAnonymous());
      const { rowCount } = await db.query("UPDATE refresh_tokens SET expires_at = now() - interval '1 minute' WHERE user_id = $1", [
        player.user.id,
      ]);
      expect(rowCount).toBe(1);

      const response = await refresh(player.refreshToken);
      expect(errorCodes(response)).toEqual(["UNAUTHENTICATED"]);
      expect(response.data ?? null).toBeNull();
    });

    it("refuses a token it never issued", async () => {
      expect(errorCodes(await refresh(`made-up-${randomUUID()}`))).toEqual(["UNAUTHENTICATED"]);
    });

    it("stores refresh tokens only as hashes", async () => {
      const player = await registerUser(url, "Mira", await asAnonymous());
      const rotated = expectData(await refresh(player.refreshToken)).refreshToken;
      const { rows } = await db.query<{ token_hash: string }>("SELECT token_hash FROM refresh_tokens WHERE user_id = $1", [player.user.id]);
      expect(rows).toHaveLength(2);
      const stored = rows.map((r) => r.token_hash);
      for (const token of [player.refreshToken, rotated.refreshToken]) {
        expect(stored).not.toContain(token);
        for (const hash of stored) expect(hash).not.toContain(token);
      }
    });
  });

  describe("signing out", () => {
    it("revokes the sign-in's family so its refresh token no longer works", async () => {
      const player = await registerUser(url, "Polaris", await asAnonymous());
      const rotated = expectData(await refresh(player.refreshToken)).refreshToken;

      expect(expectData(await logout(rotated.refreshToken)).logout).toBe(true);
      expect(errorCodes(await refresh(rotated.refreshToken))).toEqual(["UNAUTHENTICATED"]);
    });

    it("answers false for a token it does not know", async () => {
      expect(expectData(await logout(`unknown-${randomUUID()}`)).logout).toBe(false);
    });

    it("leaves the player's other sign-ins alone", async () => {
      const player = await registerUser(url, "Castor", await asAnonymous());
      const laptop = expectData(await login(player.email, player.password)).login;
      const phone = expectData(await login(player.email, player.password)).login;

      expect(expectData(await logout(laptop.refreshToken)).logout).toBe(true);
      expect(errorCodes(await refresh(laptop.refreshToken))).toEqual(["UNAUTHENTICATED"]);

      const stillIn = expectData(await refresh(phone.refreshToken)).refreshToken;
      expect(stillIn.user.id).toBe(player.user.id);
      // And the registration's own sign-in too.
      expect(expectData(await refresh(player.refreshToken)).refreshToken.user.id).toBe(player.user.id);
    });
  });

  describe("what the logs keep", () => {
    it("never writes the password, email or refresh token of a sign-in to the log", async () => {
      const player = await registerUser(url, "Quiet", await asAnonymous());
      const session = expectData(await login(player.email, player.password)).login;
      await login(player.email, `${player.password}-wrong`);
      const rotated = expectData(await refresh(session.refreshToken)).refreshToken;
      // Replaying the rotated token makes the service log a reuse warning about this family.
      await refresh(session.refreshToken);
      // A request that bypasses the gateway is logged as well.
      await graphql(url, LoginDocument, { input: { email: player.email, password: player.password } });
      const me = expectData(await graphql(url, MeDocument, {}, { headers: await gatewayHeaders(asUser(player.user.id)) })).me;
      expect(me?.id).toBe(player.user.id);

      const text = logs.raw();
      expect(logs.lines().some((line) => line.msg === "refresh token reuse detected; family revoked")).toBe(true);
      expect(logs.lines().some((line) => line.msg === "rejected a request that did not come through the gateway")).toBe(true);
      expect(text).not.toContain(player.password);
      expect(text).not.toContain(player.email);
      for (const token of [player.refreshToken, session.refreshToken, rotated.refreshToken]) expect(text).not.toContain(token);
    });
  });
});
