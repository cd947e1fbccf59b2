import { SignJWT } from "jose";
import {
  IdentityAssertionError,
  createIdentitySigner,
  createIdentityVerifier,
} from "../../packages/service-kit/src/identity-assertion";
import { anonymous, signedIn, type Viewer } from "../../packages/service-kit/src/viewer";

const SECRET = "a-gateway-secret-of-at-least-32-characters";
const key = new TextEncoder().encode(SECRET);

const sign = createIdentitySigner(SECRET);
const verify = createIdentityVerifier(SECRET);

const alice: Viewer = signedIn("0f8fad5b-d9cb-469f-a165-70867728950e", ["PLAYER", "GAME_MASTER"]);

function forged(claims: Record<string, unknown> = {}) {
  return new SignJWT({ roles: ["PLAYER"], rid: "req-12345678", ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("startales-gateway")
    .setAudience("startales-subgraphs")
    .setSubject("user-1");
}

describe("identity assertion", () => {
  it("round-trips a signed-in user with their roles", async () => {
    const token = await sign(alice, "req-12345678");
    await expect(verify(token)).resolves.toEqual(alice);
  });

  it("round-trips a user without roles", async () => {
    const viewer: Viewer = signedIn("u-2", []);
    await expect(verify(await sign(viewer, "req-12345678"))).resolves.toEqual(viewer);
  });

  it("round-trips a read-only API key with its id", async () => {
    const viewer = signedIn("u-3", ["SERVICE"], { credential: "api_key", scopes: ["read"], apiKeyId: "key-1" });
    await expect(verify(await sign(viewer, "req-12345678"))).resolves.toEqual(viewer);
  });

  it("round-trips the anonymous viewer", async () => {
    const token = await sign(anonymous, "req-12345678");
    await expect(verify(token)).resolves.toEqual({ kind: "anonymous" });
  });

  it("rejects a token signed with a different secret", async () => {
    const token = await createIdentitySigner("another-secret-that-is-32-characters-long")(alice, "req-12345678");
    await expect(verify(token)).rejects.toBeInstanceOf(IdentityAssertionError);
  });

  it("rejects an expired token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await forged().setIssuedAt(now - 600).setExpirationTime(now - 300).sign(key);
    await expect(verify(token)).rejects.toBeInstanceOf(IdentityAssertionError);
  });

  it("rejects a token for another audience", async () => {
    const token = await forged().setAudience("startales").setIssuedAt().setExpirationTime("60s").sign(key);
    await expect(verify(token)).rejects.toBeInstanceOf(IdentityAssertionError);
  });

  it("rejects a token from another issuer", async () => {
    const token = await forged().setIssuer("startales-identity").setIssuedAt().setExpirationTime("60s").sign(key);
    await expect(verify(token)).rejects.toBeInstanceOf(IdentityAssertionError);
  });

  it("rejects a token signed with another algorithm", async () => {
    const token = await new SignJWT({ roles: ["ADMIN"] })
      .setProtectedHeader({ alg: "HS512" })
      .setIssuer("startales-gateway")
      .setAudience("startales-subgraphs")
      .setSubject("user-1")
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign(new TextEncoder().encode(SECRET.repeat(2)));
    await expect(createIdentityVerifier(SECRET.repeat(2))(token)).rejects.toBeInstanceOf(IdentityAssertionError);
  });

  it.each([[undefined], [""]])("rejects a missing token (%p)", async (token) => {
    await expect(verify(token)).rejects.toBeInstanceOf(IdentityAssertionError);
  });

  it("rejects garbage", async () => {
    await expect(verify("not.a.jwt")).rejects.toBeInstanceOf(IdentityAssertionError);
  });

  it("drops roles it does not know", async () => {
    const token = await forged({ roles: ["PLAYER", "SUPERUSER", 42, "admin", "ANALYST"] })
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign(key);
    // No scope claim: the assertion grants nothing beyond reading as these roles' owner.
    await expect(verify(token)).resolves.toEqual(signedIn("user-1", ["PLAYER", "ANALYST"], { scopes: [] }));
  });

  it("treats a non-array roles claim as no roles", async () => {
    const token = await forged({ roles: "ADMIN" }).setIssuedAt().setExpirationTime("60s").sign(key);
    await expect(verify(token)).resolves.toEqual(signedIn("user-1", [], { scopes: [] }));
  });
});
