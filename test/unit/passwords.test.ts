import { burnPasswordCheck, hashPassword, verifyPassword } from "../../subgraphs/identity/src/domain/passwords";

describe("passwords", () => {
  let hash: string;
  beforeAll(async () => {
    hash = await hashPassword("correct horse battery staple");
  });

  it("hashes with argon2id at the OWASP baseline (m=19456, t=2, p=1)", () => {
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(hash).not.toContain("correct horse");
  });

  it("salts every hash", async () => {
    expect(await hashPassword("correct horse battery staple")).not.toBe(hash);
  });

  it("verifies the right password", async () => {
    await expect(verifyPassword(hash, "correct horse battery staple")).resolves.toBe(true);
  });

  it("refuses a wrong password", async () => {
    await expect(verifyPassword(hash, "correct horse battery stapler")).resolves.toBe(false);
    await expect(verifyPassword(hash, "")).resolves.toBe(false);
  });

  it.each([["not-a-hash"], [""], ["$argon2id$v=19$m=19456,t=2,p=1$broken"], ["$2b$10$abcdefghijklmnopqrstuu"]])(
    "returns false for the malformed hash %p instead of throwing",
    async (malformed) => {
      await expect(verifyPassword(malformed, "correct horse battery staple")).resolves.toBe(false);
    },
  );

  it("burnPasswordCheck completes without throwing", async () => {
    await expect(burnPasswordCheck("anything")).resolves.toBeUndefined();
  });
});
