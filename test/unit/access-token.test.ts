import { generateKeyPairSync } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { signAccessToken } from "../../subgraphs/identity/src/domain/access-token";
import { loadSigningKey, type SigningKey } from "../../subgraphs/identity/src/domain/signing-key";

const settings = { issuer: "startales-identity", audience: "startales", ttlSeconds: 900 };
const user = { id: "0f8fad5b-d9cb-469f-a165-70867728950e", roles: ["PLAYER", "GAME_MASTER"] };
const now = new Date("2026-11-25T09:30:00.750Z");
const nowSeconds = Math.floor(now.getTime() / 1000);

const newKey = () =>
  loadSigningKey(generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString());

describe("signAccessToken", () => {
  let key: SigningKey;
  beforeAll(async () => {
    key = await newKey();
  });

  it("signs a token that verifies against the JWKS with the right claims", async () => {
    const { token, expiresAt } = await signAccessToken(key, settings, user, now);
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(key.jwks), {
      issuer: "startales-identity",
      audience: "startales",
      algorithms: ["EdDSA"],
      currentDate: now,
    });
    expect(protectedHeader).toEqual({ alg: "EdDSA", kid: key.kid, typ: "JWT" });
    expect(payload.iss).toBe("startales-identity");
    expect(payload.aud).toBe("startales");
    expect(payload.sub).toBe(user.id);
    expect(payload.roles).toEqual(["PLAYER", "GAME_MASTER"]);
    expect(payload.iat).toBe(nowSeconds);
    expect(payload.exp).toBe(nowSeconds + 900);
    expect(expiresAt.getTime()).toBe((nowSeconds + 900) * 1000);
    expect(payload.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it("gives each token its own jti", async () => {
    const a = await signAccessToken(key, settings, user, now);
    const b = await signAccessToken(key, settings, user, now);
    const jtiOf = async (token: string) =>
      (await jwtVerify(token, createLocalJWKSet(key.jwks), { currentDate: now })).payload.jti;
    expect(await jtiOf(a.token)).not.toBe(await jtiOf(b.token));
  });

  it("expires after the ttl", async () => {
    const { token } = await signAccessToken(key, settings, user, now);
    await expect(
      jwtVerify(token, createLocalJWKSet(key.jwks), { currentDate: new Date((nowSeconds + 901) * 1000) }),
    ).rejects.toBeInstanceOf(errors.JWTExpired);
  });

  it("does not verify with another key's JWKS", async () => {
    const other = await newKey();
    const { token } = await signAccessToken(key, settings, user, now);
    expect(decodeProtectedHeader(token).kid).toBe(key.kid);
    await expect(jwtVerify(token, createLocalJWKSet(other.jwks), { currentDate: now })).rejects.toThrow();
  });

  it("does not verify for another audience", async () => {
    const { token } = await signAccessToken(key, settings, user, now);
    await expect(
      jwtVerify(token, createLocalJWKSet(key.jwks), { audience: "startales-subgraphs", currentDate: now }),
    ).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
  });

  it("carries an empty roles list for a user without roles", async () => {
    const { token } = await signAccessToken(key, settings, { id: "u-1", roles: [] }, now);
    const { payload } = await jwtVerify(token, createLocalJWKSet(key.jwks), { currentDate: now });
    expect(payload.roles).toEqual([]);
  });
});
