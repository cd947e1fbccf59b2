import { createPrivateKey, randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { SignJWT, UnsecuredJWT, base64url, decodeJwt, exportSPKI, importJWK, type JWK, type KeyLike } from "jose";
import { IDENTITY_HEADER, type Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { required, gatewayTestConfig } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { errorCodes, expectData, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * The security story of the API, end to end through the real gateway and subgraphs: every
 * attack below is refused with its error code, and after each one the gateway goes on
 * serving an ordinary query. The same defences have finer-grained tests elsewhere
 * (test/integration/gateway-limits, gateway-rate-limit, identity-*, campaign-*; the full
 * role × field table is test/e2e/authorization-matrix); this file is the one to read.
 *
 *  1. Access tokens: alg "none", HS256 signed with identity's public key, wrong issuer,
 *     wrong audience, expired, tampered: UNAUTHENTICATED (401).
 *  2. Refresh tokens: a reused one revokes its whole sign-in.
 *  3. Authorization: a player cannot read or run another's campaign, an analyst cannot
 *     write (FORBIDDEN).
 *  4. Subgraphs: called directly with a forged identity, they refuse (401).
 *  5. Abusive requests: depth, alias bombs, fragment cycles, huge bodies, huge batches.
 *  6. Floods: over the rate limit is RATE_LIMITED with Retry-After, served again after it.
 */

type Data = Record<string, unknown>;

const ISSUER = "startales-identity";
const AUDIENCE = "startales";
const ADMIN_EMAIL = `security-admin-${randomUUID()}@example.test`;

let stack: Stack;
let url: string;
/** A player with a healthy session: the "ordinary query" after every attack is theirs. */
let bystander: TestUser;

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn", identityEnv: { BOOTSTRAP_ADMIN_EMAILS: ADMIN_EMAIL } });
  url = stack.graphqlUrl;
  bystander = await registerUser(url, "Bystander");
});
afterAll(() => stack?.stop());

const send = (query: string, variables: Data = {}, options: { token?: string; headers?: Record<string, string> } = {}, to = url) =>
  postGraphQL<Data>(to, { query, variables }, options);

/** The gateway still answers an ordinary signed-in query that needs both subgraphs. */
async function expectStillServing(to = url): Promise<void> {
  const response = await send("query Alive { me { id } myCampaigns { id } }", {}, { token: bystander.accessToken }, to);
  expect({ status: response.status, data: response.data, errors: response.errors }).toEqual({
    status: 200,
    data: { me: { id: bystander.user.id }, myCampaigns: [] },
    errors: undefined,
  });
}

/** A refusal: its HTTP status and the codes of its errors. */
const refusal = (response: GraphQLResponse<unknown>) => ({ status: response.status, codes: errorCodes(response) });

describe("1. access tokens the gateway must not accept", () => {
  let alice: TestUser;
  const realKey = () => createPrivateKey(required("TEST_JWT_PRIVATE_KEY"));
  let jwk: JWK & { kid: string; x: string };

  /** Claims as identity issues them for Alice; the forgeries below ask for ADMIN too, as a forger would. */
  const forged = (roles = ["PLAYER", "ADMIN"]) => new SignJWT({ roles }).setSubject(alice.user.id).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt();
  const meWith = (token: string) => send("{ me { id roles } }", {}, { token });

  beforeAll(async () => {
    alice = await registerUser(url, "Alice");
    const jwks = (await (await fetch(`${stack.identityUrl}/.well-known/jwks.json`)).json()) as { keys: (JWK & { kid: string; x: string })[] };
    expect(jwks.keys).toHaveLength(1);
    jwk = jwks.keys[0]!;
    expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
  });

  /** Every case: 401 UNAUTHENTICATED, no data, and the gateway serves on. */
  async function expectRejected(token: string): Promise<GraphQLResponse<Data>> {
    const response = await meWith(token);
    expect(refusal(response)).toEqual({ status: 401, codes: ["UNAUTHENTICATED"] });
    expect(response.data ?? null).toBeNull();
    await expectStillServing();
    return response;
  }

  it("accepts a token signed with identity's key and the right claims (the control for the cases below)", async () => {
    const token = await forged(["PLAYER"]).setProtectedHeader({ alg: "EdDSA", kid: jwk.kid }).setExpirationTime("5m").sign(realKey());
    expect(expectData(await meWith(token)).me).toEqual({ id: alice.user.id, roles: ["PLAYER"] });
  });

  it('refuses alg "none" (an unsigned token)', async () => {
    const unsigned = new UnsecuredJWT({ roles: ["PLAYER", "ADMIN"] }).setSubject(alice.user.id).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime("5m").encode();
    expect(unsigned.endsWith(".")).toBe(true);
    await expectRejected(unsigned);
    // The same with identity's kid in the header, and with the real signature kept.
    const [, payload] = unsigned.split(".");
    const header = base64url.encode(JSON.stringify({ alg: "none", kid: jwk.kid, typ: "JWT" }));
    await expectRejected(`${header}.${payload}.`);
    await expectRejected(`${header}.${alice.accessToken.split(".")[1]}.${alice.accessToken.split(".")[2]}`);
  });

  it("refuses HS256 signed with identity's public key (algorithm confusion)", async () => {
    // Whatever form of the public key a confused verifier might use as the HMAC secret.
    const publicKey = (await importJWK(jwk, "EdDSA")) as KeyLike;
    const secrets = {
      "raw key bytes": base64url.decode(jwk.x),
      "JWK JSON": new TextEncoder().encode(JSON.stringify(jwk)),
      "SPKI PEM": new TextEncoder().encode(await exportSPKI(publicKey)),
    };
    for (const [form, secret] of Object.entries(secrets)) {
      const token = await forged().setProtectedHeader({ alg: "HS256", kid: jwk.kid, typ: "JWT" }).setExpirationTime("5m").sign(secret);
      const response = await expectRejected(token);
      expect({ form, message: response.errors?.[0]?.message }).toEqual({ form, message: "Access token is invalid" });
    }
  });

  it("refuses a token from another issuer", async () => {
    const token = await forged().setIssuer("evil-identity").setProtectedHeader({ alg: "EdDSA", kid: jwk.kid }).setExpirationTime("5m").sign(realKey());
    await expectRejected(token);
  });

  it("refuses a token for another audience", async () => {
    const token = await forged().setAudience("some-other-api").setProtectedHeader({ alg: "EdDSA", kid: jwk.kid }).setExpirationTime("5m").sign(realKey());
    await expectRejected(token);
  });

  it("refuses an expired token, saying so", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await forged().setIssuedAt(now - 3600).setExpirationTime(now - 60).setProtectedHeader({ alg: "EdDSA", kid: jwk.kid }).sign(realKey());
    const response = await expectRejected(token);
    expect(response.errors?.[0]?.message).toBe("Access token has expired; refresh it");
  });

  it("refuses a tampered token: claims edited, or the signature altered", async () => {
    const [header, payload, signature] = alice.accessToken.split(".") as [string, string, string];
    expect(decodeJwt(alice.accessToken).roles).toEqual(["PLAYER"]);
    const promoted = base64url.encode(JSON.stringify({ ...decodeJwt(alice.accessToken), roles: ["PLAYER", "ADMIN"] }));
    await expectRejected(`${header}.${promoted}.${signature}`);
    const flipped = `${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`;
    await expectRejected(`${header}.${payload}.${flipped}`);
    // Alice's own token still works: only the forgeries were refused.
    expect(expectData(await meWith(alice.accessToken)).me).toEqual({ id: alice.user.id, roles: ["PLAYER"] });
  });
});

describe("2. refresh tokens", () => {
  const refresh = (refreshToken: string) => send("mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }", { t: refreshToken });

  it("revokes the whole sign-in when a rotated refresh token is presented again: the newest token dies too", async () => {
    const alice = await registerUser(url, "Alice");
    const rotated = expectData(await refresh(alice.refreshToken)).refreshToken as { accessToken: string; refreshToken: string };
    expect(rotated.refreshToken).not.toBe(alice.refreshToken);

    // A thief replays the old token: refused, and the family is revoked.
    expect(errorCodes(await refresh(alice.refreshToken))).toEqual(["UNAUTHENTICATED"]);
    expect(errorCodes(await refresh(rotated.refreshToken))).toEqual(["UNAUTHENTICATED"]);
    await expectStillServing();
  });
});

describe("3. authorization: who may read and change what", () => {
  let alice: TestUser;
  let bob: TestUser;
  let campaignId: string;

  const campaign = (token: string, id = campaignId) => send("query($id: ID!) { campaign(id: $id) { id name status } }", { id }, { token });
  const lifecycle = (token: string, step: "startCampaign" | "endCampaign", id = campaignId) =>
    send(`mutation($id: ID!) { ${step}(id: $id) { id status } }`, { id }, { token });
  const statusSeenBy = async (token: string) => (expectData(await campaign(token)).campaign as { status: string }).status;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([registerUser(url, "Alice"), registerUser(url, "Bob")]);
    const created = expectData(await send('mutation { createCampaign(input: { name: "Alice\'s world" }) { id } }', {}, { token: alice.accessToken }));
    campaignId = (created.createCampaign as { id: string }).id;
  });

  it("refuses a player reading another player's campaign", async () => {
    const response = await campaign(bob.accessToken);
    expect(refusal(response)).toEqual({ status: 200, codes: ["FORBIDDEN"] });
    expect(response.data?.campaign ?? null).toBeNull();
    await expectStillServing();
  });

  it("refuses a player starting or ending another player's campaign, and nothing changes", async () => {
    expect(errorCodes(await lifecycle(bob.accessToken, "startCampaign"))).toEqual(["FORBIDDEN"]);
    expect(await statusSeenBy(alice.accessToken)).toBe("DRAFT");
    expectData(await lifecycle(alice.accessToken, "startCampaign"));
    expect(errorCodes(await lifecycle(bob.accessToken, "endCampaign"))).toEqual(["FORBIDDEN"]);
    expect(await statusSeenBy(alice.accessToken)).toBe("RUNNING");
    await expectStillServing();
  });

  it("refuses an analyst any write, while letting them read", async () => {
    const admin = await registerUser(url, "Admin", undefined, ADMIN_EMAIL);
    const analyst = await registerUser(url, "Analyst");
    const roles = expectData(
      await send("mutation($id: ID!) { setUserRoles(userId: $id, roles: [ANALYST]) { roles } }", { id: analyst.user.id }, { token: admin.accessToken }),
    );
    expect(roles.setUserRoles).toEqual({ roles: ["ANALYST"] });
    // Roles travel in the access token: sign in again to carry the new one.
    const login = expectData(
      await send("mutation($input: LoginInput!) { login(input: $input) { accessToken user { roles } } }", { input: { email: analyst.email, password: analyst.password } }),
    ).login as { accessToken: string; user: { roles: string[] } };
    expect(login.user.roles).toEqual(["ANALYST"]);

    expect(await statusSeenBy(login.accessToken)).toBe("RUNNING");
    expect(errorCodes(await lifecycle(login.accessToken, "endCampaign"))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await send('mutation { createCampaign(input: { name: "Analyst world" }) { id } }', {}, { token: login.accessToken }))).toEqual(["FORBIDDEN"]);
    expect(await statusSeenBy(alice.accessToken)).toBe("RUNNING");
    await expectStillServing();
  });
});

describe("4. subgraphs called directly", () => {
  it("refuse a forged gateway identity with 401", async () => {
    const player = await registerUser(url, "Mallory");
    const unsigned = new UnsecuredJWT({ roles: ["ADMIN"] }).setSubject(player.user.id).setIssuer("startales-gateway").setAudience("startales-subgraphs").setIssuedAt().setExpirationTime("60s").encode();
    const forgeries: Record<string, Record<string, string>> = {
      "no identity": {},
      "signed with a guessed secret": await gatewayHeaders(asUser(player.user.id, ["PLAYER", "ADMIN"]), randomBytes(48).toString("base64url")),
      "unsigned (alg none)": { [IDENTITY_HEADER]: unsigned },
      "the player's own access token": { [IDENTITY_HEADER]: player.accessToken },
    };
    for (const subgraph of [stack.identityUrl, stack.campaignUrl]) {
      for (const [forgery, headers] of Object.entries(forgeries)) {
        const response = await send("{ __typename }", {}, { headers }, `${subgraph}/graphql`);
        expect({ forgery, ...refusal(response), message: response.errors?.[0]?.message }).toEqual({
          forgery,
          status: 401,
          codes: ["UNAUTHENTICATED"],
          message: "Requests must come through the gateway",
        });
      }
    }
    await expectStillServing();
  });
});

describe("5. abusive requests", () => {
  /** A raw POST, for bodies no well-behaved client sends. */
  async function postRaw(body: string): Promise<{ status: number; codes: unknown[]; message?: string }> {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    const json = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
    return { status: res.status, codes: (json.errors ?? []).map((e) => e.extensions?.code), message: json.errors?.[0]?.message };
  }

  /** Exactly `depth` fields deep through single objects: campaign → myMembership → campaign → … */
  const deepQuery = (depth: number) => {
    const chain = ['campaign(id: "c")'];
    while (chain.length < depth - 1) chain.push(chain.length % 2 === 1 ? "myMembership" : "campaign");
    return `{ ${chain.join(" { ")} { id }${" }".repeat(chain.length - 1)} }`;
  };

  it("refuses a query 50 fields deep", async () => {
    expect(await postRaw(JSON.stringify({ query: deepQuery(50) }))).toEqual({ status: 400, codes: ["QUERY_TOO_COMPLEX"], message: "Query depth 50 exceeds the limit of 12" });
    await expectStillServing();
  });

  it("refuses an alias bomb", async () => {
    const query = `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(" ")} }`;
    expect(await postRaw(JSON.stringify({ query }))).toEqual({ status: 400, codes: ["QUERY_TOO_COMPLEX"], message: "Query alias count 1000 exceeds the limit of 30" });
    await expectStillServing();
  });

  it("refuses a fragment cycle without hanging", async () => {
    const query = "{ me { ...A } } fragment A on User { id ...B } fragment B on User { displayName ...A }";
    expect(await postRaw(JSON.stringify({ query }))).toEqual({ status: 400, codes: ["GRAPHQL_VALIDATION_FAILED"], message: 'Cannot spread fragment "A" within itself via "B".' });
    await expectStillServing();
  });

  it("refuses a 10 MB body", async () => {
    const body = JSON.stringify({ query: `{ me { id } } # ${"x".repeat(10 * 1024 * 1024)}` });
    expect(await postRaw(body)).toEqual({ status: 413, codes: ["BAD_REQUEST"], message: "Request body exceeds 1000000 bytes" });
    await expectStillServing();
  });

  it("refuses a batch of 1,000 operations before running any", async () => {
    const body = JSON.stringify(Array.from({ length: 1000 }, () => ({ query: "{ me { id } }" })));
    expect(await postRaw(body)).toEqual({ status: 413, codes: ["BAD_REQUEST"], message: "A batch may hold at most 10 operations; this one has 1000" });
    await expectStillServing();
  });
});

describe("6. floods", () => {
  let limited: GatewayApp;
  let limitedUrl: string;
  beforeAll(async () => {
    // A gateway of its own with a small budget per address and its own Redis namespace, so
    // no other suite (all call from 127.0.0.1) shares the budget.
    limited = createGatewayApp(
      gatewayTestConfig({ identity: stack.identityUrl, campaign: stack.campaignUrl }, `${stack.identityUrl}/.well-known/jwks.json`, {
        RATE_LIMIT_IP_PER_MINUTE: "20",
        RATE_LIMIT_KEY_PREFIX: `rate-limit:test:security:${randomUUID()}:`,
      }),
      captureLogs("gateway", "warn").logger as Logger,
    );
    limitedUrl = `${await limited.listen()}/graphql`;
  });
  afterAll(() => limited?.stop());

  it("refuses a burst over the rate limit with RATE_LIMITED and Retry-After, then serves again once it has passed", async () => {
    const burst = await Promise.all(Array.from({ length: 30 }, () => send("{ me { id } }", {}, {}, limitedUrl)));
    const refused = burst.filter((r) => r.status === 429);
    expect(burst.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(20);
    expect(refused.length).toBeGreaterThan(0);
    for (const response of refused) {
      const retryAfter = response.headers.get("retry-after");
      expect(retryAfter).toMatch(/^[1-9]\d*$/);
      expect(response.errors).toEqual([expect.objectContaining({ extensions: { code: "RATE_LIMITED", retryAfter: Number(retryAfter) } })]);
      expect(response.data).toBeUndefined();
    }
    // The other gateway (its own budget) serves on meanwhile.
    await expectStillServing();

    const again = await send("{ me { id } }", {}, {}, limitedUrl);
    expect(refusal(again)).toEqual({ status: 429, codes: ["RATE_LIMITED"] });
    await sleep(Number(again.headers.get("retry-after")) * 1000);
    await expectStillServing(limitedUrl);
  });
});
