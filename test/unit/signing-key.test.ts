import { generateKeyPairSync } from "node:crypto";
import { calculateJwkThumbprint } from "jose";
import { loadSigningKey } from "../../subgraphs/identity/src/domain/signing-key";

const ed25519Pem = () =>
  generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();

describe("loadSigningKey", () => {
  it("loads an Ed25519 PEM and publishes one OKP key whose kid is its thumbprint", async () => {
    const key = await loadSigningKey(ed25519Pem());
    expect(key.privateKey.asymmetricKeyType).toBe("ed25519");
    expect(key.privateKey.type).toBe("private");
    expect(key.jwks.keys).toHaveLength(1);
    const jwk = key.jwks.keys[0]!;
    expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid: key.kid });
    expect(typeof jwk.x).toBe("string");
    expect(key.kid).toBe(await calculateJwkThumbprint({ kty: "OKP", crv: "Ed25519", x: jwk.x }));
  });

  it("publishes no private key material", async () => {
    const key = await loadSigningKey(ed25519Pem());
    expect(key.jwks.keys[0]).not.toHaveProperty("d");
  });

  it("gives the same kid for the same key and different kids for different keys", async () => {
    const pem = ed25519Pem();
    const a = await loadSigningKey(pem);
    const b = await loadSigningKey(pem);
    const c = await loadSigningKey(ed25519Pem());
    expect(a.kid).toBe(b.kid);
    expect(a.kid).not.toBe(c.kid);
  });

  it("rejects an RSA key", async () => {
    const pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await expect(loadSigningKey(pem)).rejects.toThrow("JWT_PRIVATE_KEY must be an Ed25519 key");
  });

  it("rejects an EC key", async () => {
    const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await expect(loadSigningKey(pem)).rejects.toThrow("JWT_PRIVATE_KEY must be an Ed25519 key");
  });

  it("rejects something that is not a PEM", async () => {
    await expect(loadSigningKey("not a key")).rejects.toThrow();
  });
});
