import { createHash, randomBytes } from "node:crypto";

/**
 * What the gateway and identity must agree on about API keys: their format, how a key is
 * hashed (identity stores the hash; the gateway caches by it and evicts by it when identity
 * announces a revocation), the header a client sends and where identity verifies keys.
 *
 * A key is `stk_<prefix>_<secret>`: `prefix` is 8 hex characters shown in key lists so a
 * person can tell their keys apart; `secret` is 256 random bits in hex. Hex (rather than
 * base64url) keeps `_` a pure separator and the key one double-click wide.
 */
export const API_KEY_HEADER = "x-api-key";

/** Identity's internal endpoint (POST, gateway only) that turns a key into who holds it. */
export const API_KEY_VERIFY_PATH = "/internal/api-keys/verify";

/** Redis pub/sub channel on which identity publishes the hash of every revoked key. */
export const API_KEY_REVOKED_CHANNEL = "startales:api-keys:revoked";

const API_KEY_FORMAT = /^stk_([0-9a-f]{8})_[0-9a-f]{64}$/;

/** A fresh key, and the prefix lists show (`stk_` and the key's 8 prefix characters). */
export function newApiKey(): { key: string; prefix: string } {
  const prefix = `stk_${randomBytes(4).toString("hex")}`;
  return { key: `${prefix}_${randomBytes(32).toString("hex")}`, prefix };
}

/** Whether a string is shaped like a key: anything else is refused without a lookup. */
export const isApiKeyFormat = (value: string): boolean => API_KEY_FORMAT.test(value);

/**
 * SHA-256 of the whole key. A fast hash is enough here, unlike for passwords: a key has 256
 * random bits, so no dictionary or brute force can reverse its hash, and salting or
 * stretching would only slow down every request that presents a key.
 */
export const hashApiKey = (key: string): string => createHash("sha256").update(key).digest("base64url");
