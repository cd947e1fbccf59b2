import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, type JWK } from "jose";

/** The access-token signing key and the public JWKS that gateways verify against. */
export type SigningKey = { privateKey: KeyObject; kid: string; jwks: { keys: JWK[] } };

export async function loadSigningKey(pem: string): Promise<SigningKey> {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error("JWT_PRIVATE_KEY must be an Ed25519 key");
  const publicJwk = await exportJWK(createPublicKey(privateKey));
  const kid = await calculateJwkThumbprint(publicJwk);
  return { privateKey, kid, jwks: { keys: [{ ...publicJwk, kid, alg: "EdDSA", use: "sig" }] } };
}
