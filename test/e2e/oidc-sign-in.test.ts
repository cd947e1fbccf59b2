import { randomUUID } from "node:crypto";
import {
  BeginOidcSignInDocument,
  CompleteOidcSignInDocument,
  CreateCampaignDocument,
  MeDocument,
  MyLinkedIdentitiesDocument,
  OidcProvidersDocument,
  RefreshTokenDocument,
  UnlinkOidcIdentityDocument,
} from "../generated/operations";
import { errorCodes, expectData, graphql } from "../testkit/graphql-client";
import { signInAtProvider } from "../testkit/oidc-browser";
import { OIDC_PROVIDER_STARTUP_TIMEOUT_MS, oidcIdentityEnv, startOidcProvider, type OidcTestAccount, type OidcTestProvider } from "../testkit/oidc-provider";
import { startStack, type Stack } from "../testkit/stack";
import { verifyAddress } from "../testkit/account-mail";
import { registerUser } from "../testkit/users";

const REDIRECT_URI = "https://play.startales.test/oidc/callback";
const CLIENT_SECRET = `secret-${randomUUID()}`;

/**
 * Signing in with an OpenID Connect provider, through the gateway like a web client: the
 * provider is a real one (npm `oidc-provider`) on loopback, its pages are played with plain
 * HTTP, and the tokens identity issues work everywhere in the graph.
 */
describe("a player signs in with their company's OpenID Connect provider", () => {
  let idp: OidcTestProvider;
  let stack: Stack;
  /** Every email, password, code and token this suite sends or receives: none may reach a log. */
  const seeded: string[] = [CLIENT_SECRET];

  beforeAll(async () => {
    idp = await startOidcProvider([{ client_id: "startales-web", client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] }]);
    stack = await startStack({ identityEnv: oidcIdentityEnv(idp.issuer, { corp: { clientId: "startales-web", clientSecret: CLIENT_SECRET } }, [REDIRECT_URI]) });
  }, OIDC_PROVIDER_STARTUP_TIMEOUT_MS + 30_000);
  afterAll(async () => {
    await stack?.stop();
    await idp?.stop();
  });

  /** What a web client does: begin, send the browser to the provider, check the state it brings back, complete. */
  async function signInWithProvider(account: OidcTestAccount) {
    const url = stack.graphqlUrl;
    const begun = expectData(await graphql(url, BeginOidcSignInDocument, { provider: "corp", redirectUri: REDIRECT_URI })).beginOidcSignIn;
    const callback = await signInAtProvider(begun.authorizationUrl, account, REDIRECT_URI);
    expect(callback.state).toBe(begun.state);
    seeded.push(callback.code, callback.state);
    const session = expectData(await graphql(url, CompleteOidcSignInDocument, { state: callback.state, code: callback.code, issuer: callback.iss ?? null }))
      .completeOidcSignIn;
    seeded.push(session.accessToken, session.refreshToken);
    return session;
  }

  it("signs a new player up, signs a password player in, and their tokens work across the graph", async () => {
    const url = stack.graphqlUrl;
    expect(expectData(await graphql(url, OidcProvidersDocument, {})).oidcProviders).toEqual(["corp"]);

    // Bob has never been here: his first sign-in creates his account.
    const bobEmail = `bob-${randomUUID()}@corp.example.test`;
    const bobAtCorp = await idp.addAccount({ email: bobEmail, email_verified: true, name: "Bob Builder" });
    seeded.push(bobEmail, bobAtCorp.password);
    const bob = await signInWithProvider(bobAtCorp);
    expect(bob.user).toMatchObject({ displayName: "Bob Builder", email: bobEmail, roles: ["PLAYER"] });
    expect(expectData(await graphql(url, MeDocument, {}, { token: bob.accessToken })).me).toMatchObject({ id: bob.user.id, email: bobEmail });
    const campaign = expectData(await graphql(url, CreateCampaignDocument, { input: { name: "Signed In Elsewhere" } }, { token: bob.accessToken })).createCampaign;
    expect(campaign.gameMaster).toEqual({ id: bob.user.id, displayName: "Bob Builder" });
    const rotated = expectData(await graphql(url, RefreshTokenDocument, { refreshToken: bob.refreshToken })).refreshToken;
    seeded.push(rotated.accessToken, rotated.refreshToken);
    expect(rotated.user.id).toBe(bob.user.id);

    // Bob signs in again later: the same account.
    expect((await signInWithProvider(bobAtCorp)).user.id).toBe(bob.user.id);
    const bobLinks = expectData(await graphql(url, MyLinkedIdentitiesDocument, {}, { token: bob.accessToken })).myLinkedIdentities;
    expect(bobLinks.map(({ provider, email, emailVerified }) => ({ provider, email, emailVerified }))).toEqual([
      { provider: "corp", email: bobEmail, emailVerified: true },
    ]);
    // His only way in: he cannot remove it.
    expect(errorCodes(await graphql(url, UnlinkOidcIdentityDocument, { provider: "corp" }, { token: bob.accessToken }))).toEqual(["CONFLICT"]);

    // Alice registered with a password and verified her address; corp vouches for the same email, so it signs her in.
    const alice = await registerUser(url, "Alice");
    seeded.push(alice.email, alice.password, alice.accessToken, alice.refreshToken);
    await verifyAddress({ identityUrl: stack.identityUrl, graphqlUrl: url }, alice.user.id);
    const aliceAtCorp = await idp.addAccount({ email: alice.email, email_verified: true, name: "A. Corp" });
    seeded.push(aliceAtCorp.password);
    const aliceViaCorp = await signInWithProvider(aliceAtCorp);
    expect(aliceViaCorp.user).toMatchObject({ id: alice.user.id, displayName: "Alice" });
    expect(expectData(await graphql(url, MeDocument, {}, { token: aliceViaCorp.accessToken })).me?.id).toBe(alice.user.id);
    // She keeps her password, so she may unlink corp.
    expect(expectData(await graphql(url, UnlinkOidcIdentityDocument, { provider: "corp" }, { token: alice.accessToken })).unlinkOidcIdentity).toEqual([]);
  });

  it("leaves no email, password, code or token in any service's logs (run last)", () => {
    expect(seeded.length).toBeGreaterThan(15);
    for (const service of ["gateway", "identity", "campaign"] as const) {
      const text = stack.logs[service].raw();
      expect(text.length).toBeGreaterThan(0);
      const leaked = seeded.filter((value) => text.includes(value) || text.includes(value.toLowerCase()));
      expect({ service, leaked }).toEqual({ service, leaked: [] });
    }
    expect(stack.logs.identity.lines().filter((line) => line.event === "oidc_sign_in" && line.outcome === "succeeded")).toHaveLength(3);
  });
});
