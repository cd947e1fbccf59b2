import { randomUUID } from "node:crypto";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { Redis } from "ioredis";
import pg from "pg";
import { anonymous, type Role, type SubgraphApp } from "@startales/service-kit";
import { createIdentityApp } from "../../subgraphs/identity/src/app";
import { pendingSignInKey } from "../../subgraphs/identity/src/domain/oidc-state-store";
import {
  BeginOidcSignInDocument,
  CompleteOidcSignInDocument,
  CreateServiceAccountDocument,
  LoginDocument,
  MeDocument,
  MyLinkedIdentitiesDocument,
  OidcProvidersDocument,
  RegisterDocument,
  UnlinkOidcIdentityDocument,
} from "../generated/operations";
import { identityTestConfig, required } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, graphql, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { signInAtProvider, type OidcCallback } from "../testkit/oidc-browser";
import { OIDC_PROVIDER_STARTUP_TIMEOUT_MS, oidcIdentityEnv, startOidcProvider, type OidcTestAccount, type OidcTestProvider } from "../testkit/oidc-provider";
import { verifyAddress } from "../testkit/account-mail";
import { registerUser } from "../testkit/users";

const REDIRECT_URI = "https://app.startales.test/oidc/callback";
const OTHER_REDIRECT_URI = "https://other.startales.test/oidc/callback";
const WEB_SECRET = `web-secret-${randomUUID()}`;
const ADMIN_EMAIL = `oidc-admin-${randomUUID()}@example.test`;
const STATE_TTL_SECONDS = 300;

/**
 * OpenID Connect sign-in on the identity subgraph alone (as the gateway calls it), against a
 * real OIDC provider (npm `oidc-provider`) on loopback: the user's browser is played with
 * plain HTTP, the provider really checks passwords, PKCE, redirect URIs and client secrets.
 * Identity knows four providers: `corp` (a confidential client at the test provider), `pub`
 * (a public client there: PKCE only), `badsecret` (the confidential client with a wrong
 * secret) and `down` (nothing listens there).
 */
describe("identity OIDC sign-in against a real OpenID Connect provider", () => {
  const logs = captureLogs("identity");
  let idp: OidcTestProvider;
  let app: SubgraphApp;
  let baseUrl: string;
  let url: string;
  let db: pg.Client;
  let redis: Redis;

  beforeAll(async () => {
    idp = await startOidcProvider([
      { client_id: "startales-web", client_secret: WEB_SECRET, redirect_uris: [REDIRECT_URI, OTHER_REDIRECT_URI] },
      { client_id: "startales-app", redirect_uris: [REDIRECT_URI] },
    ]);
    const env = oidcIdentityEnv(
      idp.issuer,
      {
        corp: { clientId: "startales-web", clientSecret: WEB_SECRET },
        pub: { clientId: "startales-app" },
        badsecret: { clientId: "startales-web", clientSecret: "not-the-secret" },
      },
      [REDIRECT_URI, OTHER_REDIRECT_URI],
    );
    app = await createIdentityApp(
      identityTestConfig({
        ...env,
        OIDC_PROVIDERS: `${env.OIDC_PROVIDERS},down`,
        // Port 1 on loopback: nothing answers (connection refused at once).
        OIDC_DOWN_ISSUER: "http://127.0.0.1:1",
        OIDC_DOWN_CLIENT_ID: "nobody",
        OIDC_STATE_TTL_SECONDS: String(STATE_TTL_SECONDS),
        BOOTSTRAP_ADMIN_EMAILS: ADMIN_EMAIL,
      }),
      logs.logger,
    );
    baseUrl = await app.listen();
    url = `${baseUrl}/graphql`;
    db = new pg.Client({ connectionString: required("IDENTITY_DATABASE_URL") });
    await db.connect();
    redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  }, OIDC_PROVIDER_STARTUP_TIMEOUT_MS + 30_000);
  afterAll(async () => {
    redis?.disconnect();
    await db?.end();
    await app?.stop();
    await idp?.stop();
  });

  const anon = () => gatewayHeaders(anonymous);
  const email = (prefix: string) => `${prefix}-${randomUUID()}@example.test`;
  const begin = async (provider: string, redirectUri = REDIRECT_URI) => graphql(url, BeginOidcSignInDocument, { provider, redirectUri }, { headers: await anon() });
  const complete = async (callback: Pick<OidcCallback, "state" | "code"> & { iss?: string }) =>
    graphql(url, CompleteOidcSignInDocument, { state: callback.state, code: callback.code, issuer: callback.iss ?? null }, { headers: await anon() });

  /** Begins a sign-in, and plays the user's browser at the provider until it comes back. */
  async function authorize(account: OidcTestAccount, provider = "corp", alter?: (authorizationUrl: URL) => void): Promise<OidcCallback> {
    const begun = expectData(await begin(provider)).beginOidcSignIn;
    const authorizationUrl = new URL(begun.authorizationUrl);
    alter?.(authorizationUrl);
    const callback = await signInAtProvider(authorizationUrl.toString(), account, REDIRECT_URI);
    expect(callback.state).toBe(begun.state);
    return callback;
  }
  const signIn = async (account: OidcTestAccount, provider = "corp") => expectData(await complete(await authorize(account, provider))).completeOidcSignIn;

  const linksOf = async (userId: string) =>
    (
      await db.query<{ provider: string; subject: string; email: string | null; email_verified: boolean }>(
        "SELECT provider, subject, email, email_verified FROM linked_identities WHERE user_id = $1 ORDER BY created_at",
        [userId],
      )
    ).rows;
  const linkOf = async (subject: string) =>
    (await db.query<{ user_id: string; provider: string }>("SELECT user_id, provider FROM linked_identities WHERE subject = $1", [subject])).rows;
  const usersWithEmail = async (address: string) => (await db.query<{ id: string }>("SELECT id FROM users WHERE email = $1", [address])).rows;
  /** A password account whose address was verified through its mailed link: one a verified provider email may link to. */
  const verifiedPlayer = async (name: string) => {
    const player = await registerUser(url, name, await anon());
    await verifyAddress({ identityUrl: baseUrl, graphqlUrl: url, headers: await anon() }, player.user.id);
    return player;
  };
  const fieldsOf = (response: GraphQLResponse<unknown>) => ((response.errors?.[0]?.extensions?.fields ?? []) as { field: string }[]).map((f) => f.field);

  describe("beginning a sign-in", () => {
    it("lists the configured providers in order", async () => {
      expect(expectData(await graphql(url, OidcProvidersDocument, {}, { headers: await anon() })).oidcProviders).toEqual(["corp", "pub", "badsecret", "down"]);
    });

    it("sends the user to the provider's authorization endpoint with PKCE (S256), a state and a nonce", async () => {
      const begun = expectData(await begin("corp")).beginOidcSignIn;
      const authorizationUrl = new URL(begun.authorizationUrl);
      const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as { authorization_endpoint: string };
      expect(`${authorizationUrl.origin}${authorizationUrl.pathname}`).toBe(discovery.authorization_endpoint);
      const params = Object.fromEntries(authorizationUrl.searchParams);
      expect(params).toEqual({
        response_type: "code",
        client_id: "startales-web",
        redirect_uri: REDIRECT_URI,
        scope: "openid email profile",
        state: begun.state,
        nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        code_challenge_method: "S256",
      });
      expect(begun.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(params.nonce).not.toBe(begun.state);
      const expiresIn = new Date(begun.expiresAt).getTime() - Date.now();
      expect(expiresIn).toBeGreaterThan(0);
      expect(expiresIn).toBeLessThanOrEqual(STATE_TTL_SECONDS * 1000);
    });

    it("keeps the pending sign-in in Redis under the state's hash, with a short TTL, without the state itself", async () => {
      const begun = expectData(await begin("pub")).beginOidcSignIn;
      const key = pendingSignInKey(begun.state);
      expect(key).not.toContain(begun.state);
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(STATE_TTL_SECONDS * 1000);
      const stored = JSON.parse((await redis.get(key)) ?? "{}") as Record<string, string>;
      expect(stored).toEqual({ provider: "pub", redirectUri: REDIRECT_URI, codeVerifier: expect.any(String), nonce: new URL(begun.authorizationUrl).searchParams.get("nonce") });
      expect(begun.authorizationUrl).not.toContain(stored.codeVerifier);
    });

    it("refuses an unknown provider with BAD_USER_INPUT", async () => {
      const response = await begin("myspace");
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
      expect(fieldsOf(response)).toEqual(["provider"]);
    });

    it.each([
      ["not on the allowlist", "https://evil.example.test/callback"],
      ["with an extra path", `${REDIRECT_URI}/../../steal`],
      ["with a query", `${REDIRECT_URI}?next=https://evil.example.test`],
      ["with a different case", REDIRECT_URI.toUpperCase()],
      ["not a URL", "javascript:alert(1)"],
    ])("refuses a redirect URI %s with BAD_USER_INPUT (never an open redirect)", async (_case, redirectUri) => {
      const response = await begin("corp", redirectUri);
      expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
      expect(fieldsOf(response)).toEqual(["redirectUri"]);
    });

    it("answers SERVICE_UNAVAILABLE when the provider cannot be reached", async () => {
      expect(errorCodes(await begin("down"))).toEqual(["SERVICE_UNAVAILABLE"]);
    });
  });

  describe("completing a sign-in", () => {
    it("creates a user on the first sign-in, with the verified email and the provider's name, and signs them in", async () => {
      const address = email("nova");
      const account = await idp.addAccount({ email: address, email_verified: true, name: "Nova Star" });
      const session = await signIn(account);

      expect(session.user).toMatchObject({ displayName: "Nova Star", roles: ["PLAYER"], email: address });
      expect(await linksOf(session.user.id)).toEqual([{ provider: "corp", subject: account.id, email: address, email_verified: true }]);
      // Audited as a success for that user, without the provider's email or subject.
      const audit = await db.query<{ outcome: string; actor_id: string | null; details: unknown }>(
        "SELECT outcome, actor_id, details FROM audit_log WHERE action = 'identity.oidc_sign_in' AND target_id = $1",
        [session.user.id],
      );
      expect(audit.rows.map((r) => [r.outcome, r.actor_id])).toEqual([["SUCCESS", null]]);
      expect(JSON.stringify(audit.rows[0]!.details)).not.toContain(address);
      expect(JSON.stringify(audit.rows[0]!.details)).not.toContain(account.id);

      // No password: the account signs in only through its provider.
      const { rows } = await db.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE id = $1", [session.user.id]);
      expect(rows[0]?.password_hash.startsWith("$argon2")).toBe(false);
      expect(errorCodes(await graphql(url, LoginDocument, { input: { email: address, password: rows[0]!.password_hash } }, { headers: await anon() }))).toEqual([
        "UNAUTHENTICATED",
      ]);

      // The tokens are identity's own, like any sign-in's.
      const jwks = (await (await fetch(`${baseUrl}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
      const { payload } = await jwtVerify(session.accessToken, createLocalJWKSet(jwks), { issuer: "startales-identity", audience: "startales" });
      expect(payload.sub).toBe(session.user.id);
      const me = expectData(await graphql(url, MeDocument, {}, { headers: await gatewayHeaders(asUser(session.user.id)) })).me;
      expect(me).toMatchObject({ id: session.user.id, email: address });
    });

    it("signs the same user in again on the next sign-in, as a new session", async () => {
      const account = await idp.addAccount({ email: email("vega"), email_verified: true, name: "Vega" });
      const first = await signIn(account);
      const second = await signIn(account);
      expect(second.user.id).toBe(first.user.id);
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(await linkOf(account.id)).toEqual([{ user_id: first.user.id, provider: "corp" }]);
    });

    it("works for a public client, with PKCE and no client secret", async () => {
      const account = await idp.addAccount({ email: email("app"), email_verified: true, name: "Appy" });
      const session = await signIn(account, "pub");
      expect(await linksOf(session.user.id)).toEqual([expect.objectContaining({ provider: "pub", subject: account.id })]);
    });

    it("links a verified email to the existing password account with that email, verified here too", async () => {
      const player = await verifiedPlayer("Lyra");
      const account = await idp.addAccount({ email: player.email.toUpperCase(), email_verified: true, name: "Somebody Else" });
      const session = await signIn(account);

      expect(session.user).toMatchObject({ id: player.user.id, displayName: "Lyra", email: player.email });
      expect(await linksOf(player.user.id)).toEqual([{ provider: "corp", subject: account.id, email: player.email, email_verified: true }]);
      expect(await usersWithEmail(player.email)).toHaveLength(1);
      // The password still works.
      const login = expectData(await graphql(url, LoginDocument, { input: { email: player.email, password: player.password } }, { headers: await anon() })).login;
      expect(login.user.id).toBe(player.user.id);
    });

    it("never links a provider-verified email to an account that has not verified it here: CONFLICT, and nothing is created", async () => {
      const player = await registerUser(url, "Sirius", await anon());
      const account = await idp.addAccount({ email: player.email, email_verified: true, name: "Squatter Or Owner" });
      const response = await complete(await authorize(account));

      expect(errorCodes(response)).toEqual(["CONFLICT"]);
      expect(response.errors?.[0]?.message).toMatch(/verify the email first/);
      expect(await linkOf(account.id)).toEqual([]);
      expect(await linksOf(player.user.id)).toEqual([]);
      expect(await usersWithEmail(player.email)).toEqual([{ id: player.user.id }]);
      // Once the account's owner verified the address, the same provider account links to it.
      await verifyAddress({ identityUrl: baseUrl, graphqlUrl: url, headers: await anon() }, player.user.id);
      expect((await signIn(account)).user.id).toBe(player.user.id);
    });

    it("gives a user created with a provider-verified email a verified address", async () => {
      const account = await idp.addAccount({ email: email("fresh"), email_verified: true, name: "Fresh" });
      const session = await signIn(account);
      const { rows } = await db.query<{ email_verified_at: Date | null }>("SELECT email_verified_at FROM users WHERE id = $1", [session.user.id]);
      expect(rows[0]!.email_verified_at).toBeInstanceOf(Date);
    });

    it("never links an unverified email to an existing account: CONFLICT, and nothing is created", async () => {
      const player = await registerUser(url, "Deneb", await anon());
      const account = await idp.addAccount({ email: player.email, email_verified: false, name: "Mallory" });
      const response = await complete(await authorize(account));

      expect(errorCodes(response)).toEqual(["CONFLICT"]);
      expect(response.data ?? null).toBeNull();
      expect(await linkOf(account.id)).toEqual([]);
      expect(await linksOf(player.user.id)).toEqual([]);
      expect(await usersWithEmail(player.email)).toEqual([{ id: player.user.id }]);
    });

    it("treats email_verified other than a JSON true as unverified", async () => {
      const player = await registerUser(url, "Rigel", await anon());
      const account = await idp.addAccount({ email: player.email, email_verified: "true" as unknown as boolean });
      expect(errorCodes(await complete(await authorize(account)))).toEqual(["CONFLICT"]);
      expect(await linksOf(player.user.id)).toEqual([]);
    });

    it("gives an unverified email that no account has a new user without claiming the address", async () => {
      const address = email("unverified");
      const account = await idp.addAccount({ email: address, email_verified: false, preferred_username: "mira_99" });
      const session = await signIn(account);

      expect(session.user.displayName).toBe("mira_99");
      expect(session.user.email).toBe(`oidc-${session.user.id}@users.startales.invalid`);
      expect(await linksOf(session.user.id)).toEqual([{ provider: "corp", subject: account.id, email: address, email_verified: false }]);
      // The address's real owner can still register it: nobody squatted it.
      const owner = expectData(
        await graphql(url, RegisterDocument, { input: { email: address, password: "owner's password", displayName: "Owner" } }, { headers: await anon() }),
      ).register;
      expect(owner.user.id).not.toBe(session.user.id);
      // And the unverified identity still signs into its own user, not the owner's.
      expect((await signIn(account)).user.id).toBe(session.user.id);
    });

    it("gives a user whose provider shares no email or name a placeholder address and a default name", async () => {
      const account = await idp.addAccount({ name: "🚀" });
      const session = await signIn(account);
      expect(session.user).toMatchObject({ displayName: "Player", email: `oidc-${session.user.id}@users.startales.invalid` });
      expect(await linksOf(session.user.id)).toEqual([{ provider: "corp", subject: account.id, email: null, email_verified: false }]);
    });

    it("makes a bootstrap admin email an admin, as registering would", async () => {
      const account = await idp.addAccount({ email: ADMIN_EMAIL, email_verified: true, name: "Operator" });
      expect((await signIn(account)).user.roles).toEqual(["PLAYER", "ADMIN"]);
    });

    it("never signs in as a service account, whatever email the provider claims", async () => {
      const admin = await registerUser(url, "Admin", await anon());
      const service = expectData(
        await graphql(url, CreateServiceAccountDocument, { input: { name: "svc bot" } }, { headers: await gatewayHeaders(asUser(admin.user.id, ["PLAYER", "ADMIN"])) }),
      ).createServiceAccount;
      const { rows } = await db.query<{ email: string }>("SELECT email FROM users WHERE id = $1", [service.id]);
      const account = await idp.addAccount({ email: rows[0]!.email, email_verified: true });

      const response = await complete(await authorize(account));
      expect(errorCodes(response)).toEqual(["CONFLICT"]);
      expect(await linksOf(service.id)).toEqual([]);
      expect(await linkOf(account.id)).toEqual([]);
    });

    it("resolves two simultaneous first sign-ins of one person to one user", async () => {
      const account = await idp.addAccount({ email: email("twin"), email_verified: true, name: "Twin" });
      const callbacks = [await authorize(account), await authorize(account)];
      const sessions = await Promise.all(callbacks.map(async (callback) => expectData(await complete(callback)).completeOidcSignIn));
      expect(sessions[0]!.user.id).toBe(sessions[1]!.user.id);
      expect(await linkOf(account.id)).toEqual([{ user_id: sessions[0]!.user.id, provider: "corp" }]);
    });
  });

  describe("what a sign-in refuses (UNAUTHENTICATED, one message)", () => {
    const refusals: GraphQLResponse<unknown>[] = [];
    const expectRefused = (response: GraphQLResponse<unknown>) => {
      refusals.push(response);
      expect(errorCodes(response)).toEqual(["UNAUTHENTICATED"]);
      expect(response.data ?? null).toBeNull();
    };
    /** Why the last failed sign-in failed, as the audit recorded it (the client is told nothing). */
    const lastFailure = () => logs.lines().filter((line) => line.event === "oidc_sign_in" && line.outcome === "failed").at(-1)?.reason;
    const verifiedAccount = (extra: Partial<OidcTestAccount> = {}) => idp.addAccount({ email: email("refused"), email_verified: true, ...extra });

    it("a state used once already", async () => {
      const callback = await authorize(await verifiedAccount());
      expectData(await complete(callback));
      expectRefused(await complete(callback));
      expect(lastFailure()).toBe("state is unknown, expired or already used");
    });

    it("a tampered code, after which the state is spent for the real code too", async () => {
      const account = await verifiedAccount();
      const callback = await authorize(account);
      expectRefused(await complete({ ...callback, code: `${callback.code.slice(0, -2)}xx` }));
      expect(lastFailure()).toBe("token endpoint refused the code (400 invalid_grant)");
      expectRefused(await complete(callback));
      expect(lastFailure()).toBe("state is unknown, expired or already used");
      expect(await linkOf(account.id)).toEqual([]);
    });

    it("a state this server never issued", async () => {
      const callback = await authorize(await verifiedAccount());
      expectRefused(await complete({ ...callback, state: `made-up-${randomUUID()}` }));
      expect(lastFailure()).toBe("state is unknown, expired or already used");
    });

    it("an ID token whose nonce is not this sign-in's (the authorization request was altered)", async () => {
      const account = await verifiedAccount();
      const callback = await authorize(account, "corp", (authorizationUrl) => authorizationUrl.searchParams.set("nonce", `attacker-${randomUUID()}`));
      expectRefused(await complete(callback));
      expect(lastFailure()).toBe("ID token nonce does not match");
      expect(await linkOf(account.id)).toEqual([]);
    });

    it("a code issued for another PKCE challenge", async () => {
      const account = await verifiedAccount();
      const callback = await authorize(account, "corp", (authorizationUrl) =>
        authorizationUrl.searchParams.set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
      );
      expectRefused(await complete(callback));
      expect(lastFailure()).toBe("token endpoint refused the code (400 invalid_grant)");
      expect(await linkOf(account.id)).toEqual([]);
    });

    it("an ID token issued to another client (audience), though signed with the provider's key", async () => {
      const account = await verifiedAccount({ tamper: "audience" });
      expectRefused(await complete(await authorize(account)));
      expect(lastFailure()).toBe("ID token is invalid (ERR_JWT_CLAIM_VALIDATION_FAILED)");
      expect(await linkOf(account.id)).toEqual([]);
    });

    it("an ID token signed by a key the provider does not publish", async () => {
      const account = await verifiedAccount({ tamper: "signature" });
      expectRefused(await complete(await authorize(account)));
      expect(lastFailure()).toBe("ID token is invalid (ERR_JWS_SIGNATURE_VERIFICATION_FAILED)");
      expect(await linkOf(account.id)).toEqual([]);
    });

    it("a code our client cannot redeem (the provider refuses its client secret)", async () => {
      const account = await verifiedAccount();
      expectRefused(await complete(await authorize(account, "badsecret")));
      expect(lastFailure()).toBe("token endpoint refused the code (401 invalid_client)");
      expect(await linkOf(account.id)).toEqual([]);
    });

    it("a code that names another issuer (mix-up)", async () => {
      const callback = await authorize(await verifiedAccount());
      expect(callback.iss).toBe(idp.issuer);
      expectRefused(await complete({ ...callback, iss: "https://evil.example.test" }));
      expect(lastFailure()).toBe("iss is another provider's");
    });

    it("says the same thing every time, whatever failed", () => {
      expect(refusals.length).toBeGreaterThanOrEqual(8);
      expect(new Set(refusals.map((r) => r.errors?.[0]?.message)).size).toBe(1);
    });
  });

  describe("linked identities", () => {
    const headersOf = (userId: string, roles: Role[] = ["PLAYER"]) => gatewayHeaders(asUser(userId, roles));
    const myLinks = async (userId: string) => expectData(await graphql(url, MyLinkedIdentitiesDocument, {}, { headers: await headersOf(userId) })).myLinkedIdentities;
    const unlink = async (userId: string, provider: string) => graphql(url, UnlinkOidcIdentityDocument, { provider }, { headers: await headersOf(userId) });

    it("lists the caller's own links, and only to a signed-in caller", async () => {
      const address = email("links");
      const account = await idp.addAccount({ email: address, email_verified: true });
      const session = await signIn(account);
      await signIn(account, "pub"); // the same verified email: linked to the same user

      const links = await myLinks(session.user.id);
      expect(links.map(({ provider, email: linked, emailVerified }) => ({ provider, email: linked, emailVerified }))).toEqual([
        { provider: "corp", email: address, emailVerified: true },
        { provider: "pub", email: address, emailVerified: true },
      ]);
      const stranger = await registerUser(url, "Stranger", await anon());
      expect(await myLinks(stranger.user.id)).toEqual([]);
      expect(errorCodes(await graphql(url, MyLinkedIdentitiesDocument, {}, { headers: await anon() }))).toEqual(["UNAUTHENTICATED"]);
    });

    it("unlinks a provider from a user who still has a password", async () => {
      const player = await verifiedPlayer("Castor");
      const account = await idp.addAccount({ email: player.email, email_verified: true });
      await signIn(account);
      expect(expectData(await unlink(player.user.id, "corp")).unlinkOidcIdentity).toEqual([]);
      expect(await linksOf(player.user.id)).toEqual([]);
    });

    it("refuses to remove the last way to sign in with CONFLICT, and allows it once another remains", async () => {
      const account = await idp.addAccount({ email: email("last"), email_verified: true });
      const session = await signIn(account);
      expect(errorCodes(await unlink(session.user.id, "corp"))).toEqual(["CONFLICT"]);
      expect(await linksOf(session.user.id)).toHaveLength(1);

      await signIn(account, "pub");
      const remaining = expectData(await unlink(session.user.id, "corp")).unlinkOidcIdentity;
      expect(remaining.map((link) => link.provider)).toEqual(["pub"]);
      expect(errorCodes(await unlink(session.user.id, "pub"))).toEqual(["CONFLICT"]);
      expect((await linksOf(session.user.id)).map((link) => link.provider)).toEqual(["pub"]);
    });

    it("does not count a link to a provider no longer configured as a way to sign in", async () => {
      const account = await idp.addAccount({ email: email("retired"), email_verified: true });
      const session = await signIn(account);
      await db.query("INSERT INTO linked_identities (id, user_id, provider, subject, email_verified) VALUES ($1, $2, 'retired', $3, true)", [
        randomUUID(),
        session.user.id,
        `old-${randomUUID()}`,
      ]);
      expect(errorCodes(await unlink(session.user.id, "corp"))).toEqual(["CONFLICT"]);
      // Yet the user may remove the dead link itself.
      expect(expectData(await unlink(session.user.id, "retired")).unlinkOidcIdentity.map((link) => link.provider)).toEqual(["corp"]);
    });

    it("answers NOT_FOUND for a provider the caller has no link to", async () => {
      const player = await registerUser(url, "Polaris", await anon());
      expect(errorCodes(await unlink(player.user.id, "corp"))).toEqual(["NOT_FOUND"]);
    });

    it("refuses an API key, even a WRITE one: FORBIDDEN", async () => {
      const player = await verifiedPlayer("Tooling");
      await signIn(await idp.addAccount({ email: player.email, email_verified: true }));
      const withKey = await gatewayHeaders(asUser(player.user.id, ["PLAYER"], ["read", "write"]));
      expect(errorCodes(await graphql(url, UnlinkOidcIdentityDocument, { provider: "corp" }, { headers: withKey }))).toEqual(["FORBIDDEN"]);
      expect(await linksOf(player.user.id)).toHaveLength(1);
    });
  });

  describe("what the logs keep", () => {
    it("records every sign-in, success or failure, once, with no email, subject, code or token", async () => {
      const address = email("quiet");
      const account = await idp.addAccount({ email: address, email_verified: true, name: "Quiet" });
      const callback = await authorize(account);
      const session = expectData(await complete(callback)).completeOidcSignIn;
      await complete(callback); // reused state: a failure

      const events = logs.lines().filter((line) => line.event === "oidc_sign_in");
      expect(events.filter((e) => e.userId === session.user.id)).toEqual([
        expect.objectContaining({ outcome: "succeeded", provider: "corp", account: "created", msg: "OIDC sign-in succeeded" }),
      ]);
      expect(events).toContainEqual(expect.objectContaining({ outcome: "failed", reason: "state is unknown, expired or already used" }));
      const text = logs.raw();
      for (const secret of [address, account.id, account.password, callback.code, callback.state, session.accessToken, session.refreshToken, WEB_SECRET]) {
        expect(text).not.toContain(secret);
      }
    });
  });
});
