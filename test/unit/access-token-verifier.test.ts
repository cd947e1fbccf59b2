import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { createAccessTokenVerifier } from "../../gateway/src/access-token";
import { signAccessToken } from "../../subgraphs/identity/src/domain/access-token";
import { loadSigningKey, type SigningKey } from "../../subgraphs/identity/src/domain/signing-key";

/**
 * The gateway's access-token check keeps a verified token until it expires: the same token
 * again is not verified again, an expired one is refused even though it was kept, and a
 * refusal (a tampered copy, a wrong audience) is never kept.
 */
const settings = { issuer: "startales-identity", audience: "startales", ttlSeconds: 60 };
const user = { id: "0f8fad5b-d9cb-469f-a165-70867728950e", roles: ["PLAYER"] };
let key: SigningKey;
let server: Server;
let jwksUrl: string;
let jwksFetches = 0;

beforeAll(async () => {
  key = await loadSigningKey(generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  server = createServer((_req, res) => {
    jwksFetches += 1;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(key.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

function verifier(clock: { now: number }, maxKept?: number) {
  const registry = new Registry();
  const verify = createAccessTokenVerifier({ jwksUrl, issuer: settings.issuer, audience: settings.audience, now: () => clock.now, registry, maxKept });
  const outcomes = async () =>
    Object.fromEntries((await registry.getSingleMetric("gateway_access_token_verifications_total")!.get()).values.map((v) => [v.labels.outcome, v.value]));
  return { verify, outcomes };
}

const codeOf = (promise: Promise<unknown>) => promise.then(() => "OK", (error: { extensions?: { code?: string } }) => error.extensions?.code);

it("verifies a token once and keeps it until it expires, then refuses it", async () => {
  const clock = { now: Date.parse("2026-12-06T12:00:00.000Z") };
  const { token } = await signAccessToken(key, settings, user, new Date(clock.now));
  const { verify, outcomes } = verifier(clock);
  for (let i = 0; i < 3; i++) expect(await verify(`Bearer ${token}`)).toMatchObject({ kind: "user", userId: user.id, roles: ["PLAYER"] });
  expect(await outcomes()).toEqual({ verified: 1, kept: 2 });
  clock.now += 59_000;
  expect(await verify(`Bearer ${token}`)).toMatchObject({ userId: user.id });
  clock.now += 1_000;
  expect(await codeOf(verify(`Bearer ${token}`))).toBe("UNAUTHENTICATED");
  expect(await outcomes()).toEqual({ verified: 1, kept: 3, refused: 1 });
});

it("never keeps a refusal, and a tampered copy of a kept token is refused", async () => {
  const clock = { now: Date.parse("2026-12-06T12:00:00.000Z") };
  const { token } = await signAccessToken(key, settings, user, new Date(clock.now));
  const wrongAudience = (await signAccessToken(key, { ...settings, audience: "elsewhere" }, user, new Date(clock.now))).token;
  const { verify, outcomes } = verifier(clock);
  await verify(`Bearer ${token}`);
  const [header, payload, signature] = token.split(".");
  const tampered = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), roles: ["ADMIN"] })).toString("base64url")}.${signature}`;
  for (let i = 0; i < 2; i++) {
    expect(await codeOf(verify(`Bearer ${tampered}`))).toBe("UNAUTHENTICATED");
    expect(await codeOf(verify(`Bearer ${wrongAudience}`))).toBe("UNAUTHENTICATED");
  }
  expect(await outcomes()).toEqual({ verified: 1, refused: 4 });
  expect(jwksFetches).toBeGreaterThan(0);
});

it("keeps at most maxKept tokens, the least recently used going first", async () => {
  const clock = { now: Date.parse("2026-12-06T12:00:00.000Z") };
  const tokens = await Promise.all([1, 2, 3].map(async (n) => (await signAccessToken(key, settings, { ...user, id: `user-${n}` }, new Date(clock.now))).token));
  const { verify, outcomes } = verifier(clock, 2);
  for (const token of tokens) await verify(`Bearer ${token}`);
  await verify(`Bearer ${tokens[2]}`);
  await verify(`Bearer ${tokens[0]}`);
  expect(await outcomes()).toEqual({ verified: 4, kept: 1 });
});

it("refuses a deleted account's tokens, kept or new, until its last token would have expired anyway", async () => {
  const clock = { now: Date.parse("2026-12-06T12:00:00.000Z") };
  const kept = (await signAccessToken(key, settings, user, new Date(clock.now))).token;
  const other = { id: "7c9e6679-7425-40de-944b-e07fc1f90ae7", roles: ["PLAYER"] };
  const someoneElse = (await signAccessToken(key, settings, other, new Date(clock.now))).token;
  const { verify } = verifier(clock);
  await verify(`Bearer ${kept}`);
  verify.refuseAccount(user.id, clock.now + 60_000);
  expect(await codeOf(verify(`Bearer ${kept}`))).toBe("UNAUTHENTICATED");
  expect(verify.kept(`Bearer ${kept}`)).toBeUndefined();
  clock.now += 1_000;
  const fresh = (await signAccessToken(key, settings, user, new Date(clock.now))).token;
  expect(await codeOf(verify(`Bearer ${fresh}`))).toBe("UNAUTHENTICATED");
  expect(await verify(`Bearer ${someoneElse}`)).toMatchObject({ userId: other.id });
  // An announcement for a time already past changes nothing; the refusal lapses when it said.
  verify.refuseAccount(other.id, clock.now - 1);
  expect(await verify(`Bearer ${someoneElse}`)).toMatchObject({ userId: other.id });
  clock.now += 59_000;
  expect(await verify(`Bearer ${fresh}`)).toMatchObject({ userId: user.id });
});

it("refuses a user's tokens issued before a reset ended their sign-ins, kept or new, and honours later ones", async () => {
  const clock = { now: Date.parse("2026-12-06T12:00:00.000Z") };
  const old = (await signAccessToken(key, settings, user, new Date(clock.now))).token;
  const other = { id: "7c9e6679-7425-40de-944b-e07fc1f90ae7", roles: ["PLAYER"] };
  const someoneElse = (await signAccessToken(key, settings, other, new Date(clock.now))).token;
  const { verify } = verifier(clock);
  await verify(`Bearer ${old}`);
  const notBefore = clock.now / 1000 + 1;
  verify.refuseIssuedBefore(user.id, notBefore, clock.now + 60_000);
  expect(await codeOf(verify(`Bearer ${old}`))).toBe("UNAUTHENTICATED");
  expect(verify.kept(`Bearer ${old}`)).toBeUndefined();
  expect(await verify(`Bearer ${someoneElse}`)).toMatchObject({ userId: other.id });
  clock.now += 1_000;
  const fresh = (await signAccessToken(key, settings, user, new Date(clock.now))).token;
  expect(await verify(`Bearer ${fresh}`)).toMatchObject({ userId: user.id });
  // An older announcement arriving late does not move the cutoff back.
  verify.refuseIssuedBefore(user.id, notBefore - 10, clock.now + 60_000);
  expect(await codeOf(verify(`Bearer ${old}`))).toBe("UNAUTHENTICATED");
});
