import { createHash } from "node:crypto";
import { hashApiKey, isApiKeyFormat, newApiKey } from "../../packages/service-kit/src/api-keys";
import { loadGatewayConfig } from "../../gateway/src/config";

describe("API key format", () => {
  it("makes keys stk_<8 hex>_<64 hex> whose prefix is their first 12 characters", () => {
    const { key, prefix } = newApiKey();
    expect(key).toMatch(/^stk_[0-9a-f]{8}_[0-9a-f]{64}$/);
    expect(key.startsWith(`${prefix}_`)).toBe(true);
    expect(prefix).toHaveLength(12);
    expect(isApiKeyFormat(key)).toBe(true);
  });

  it("never makes the same key twice", () => {
    const keys = new Set(Array.from({ length: 1_000 }, () => newApiKey().key));
    expect(keys.size).toBe(1_000);
  });

  it("refuses anything else before any lookup", () => {
    const { key } = newApiKey();
    for (const bad of ["", "garbage", key.toUpperCase(), `${key}0`, key.slice(0, -1), ` ${key}`, key.replace("stk_", "sk_")]) {
      expect(isApiKeyFormat(bad)).toBe(false);
    }
  });

  it("hashes the whole key with SHA-256, so identity and every gateway agree on the hash", () => {
    const { key } = newApiKey();
    expect(hashApiKey(key)).toBe(createHash("sha256").update(key).digest("base64url"));
    expect(hashApiKey(key)).not.toContain(key.slice(13));
  });
});

describe("where the gateway verifies API keys", () => {
  const SECRET = "g".repeat(32);

  it("is identity's origin, taken from IDENTITY_JWKS_URL, unless IDENTITY_INTERNAL_URL says otherwise", () => {
    const derived = loadGatewayConfig({ GATEWAY_SIGNING_SECRET: SECRET, IDENTITY_JWKS_URL: "http://identity.internal:4001/.well-known/jwks.json" });
    expect(derived.IDENTITY_INTERNAL_URL).toBe("http://identity.internal:4001");
    expect(loadGatewayConfig({ GATEWAY_SIGNING_SECRET: SECRET }).IDENTITY_INTERNAL_URL).toBe("http://127.0.0.1:4001");
    const explicit = loadGatewayConfig({ GATEWAY_SIGNING_SECRET: SECRET, IDENTITY_INTERNAL_URL: "http://identity-private:9001" });
    expect(explicit.IDENTITY_INTERNAL_URL).toBe("http://identity-private:9001");
    expect(explicit.API_KEY_CACHE_TTL_MS).toBe(30_000);
  });
});
