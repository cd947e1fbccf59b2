import { hashRefreshToken, newRefreshTokenSecret } from "../../subgraphs/identity/src/domain/refresh-token-secret";

describe("newRefreshTokenSecret", () => {
  it("is 43 base64url characters (256 bits)", () => {
    const secret = newRefreshTokenSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret, "base64url")).toHaveLength(32);
  });

  it("is unique", () => {
    const secrets = new Set(Array.from({ length: 100 }, () => newRefreshTokenSecret()));
    expect(secrets.size).toBe(100);
  });
});

describe("hashRefreshToken", () => {
  it("is deterministic", () => {
    const token = newRefreshTokenSecret();
    expect(hashRefreshToken(token)).toBe(hashRefreshToken(token));
  });

  it("differs from the token and between tokens", () => {
    const a = newRefreshTokenSecret();
    const b = newRefreshTokenSecret();
    expect(hashRefreshToken(a)).not.toBe(a);
    expect(hashRefreshToken(a)).not.toBe(hashRefreshToken(b));
  });

  it("is the base64url SHA-256 of the token", () => {
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    expect(hashRefreshToken("abc")).toBe(Buffer.from("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "hex").toString("base64url"));
    expect(hashRefreshToken("abc")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
