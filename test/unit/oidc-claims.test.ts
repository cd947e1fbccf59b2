import { registerInput } from "../../subgraphs/identity/src/domain/input";
import { displayNameFrom, normalizedEmail } from "../../subgraphs/identity/src/domain/oidc-claims";

const claims = (extra: { name?: string; preferredUsername?: string; email?: string }) => ({ subject: "sub", emailVerified: true, ...extra });

describe("what a provider's claims become", () => {
  it.each([
    ["Nova Star", "Nova Star"],
    ["  Zoe\u0308  ", "Zoë"],
    ["<script>alert(1)</script>", "script alert 1 script"],
    ["🚀 Captain Kirk 🖖", "Captain Kirk"],
    ["José María de la Santísima Trinidad Ruiz", "José María de la Santísima Trini"],
    ["_underscore first", "underscore first"],
  ])("makes the display name %p into %p", (name, expected) => {
    expect(displayNameFrom(claims({ name }))).toBe(expected);
  });

  it("always gives a name register() would accept", () => {
    for (const name of ["𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝔣𝔞𝔫𝔠𝔶 𝔩𝔢𝔱𝔱𝔢𝔯𝔰 𝔤𝔬𝔦𝔫𝔤 𝔬𝔫 𝔞𝔫𝔡 𝔬𝔫", "a".repeat(200), "x", "", "\u0301\u0301abc"]) {
      expect(registerInput.shape.displayName.safeParse(displayNameFrom(claims({ name }))).success).toBe(true);
    }
  });

  it("falls back to preferred_username, then to Player", () => {
    expect(displayNameFrom(claims({ name: "!", preferredUsername: "mira_99" }))).toBe("mira_99");
    expect(displayNameFrom(claims({ name: "🚀" }))).toBe("Player");
    expect(displayNameFrom(claims({}))).toBe("Player");
  });

  it("stores the email as register() does, or not at all", () => {
    expect(normalizedEmail(claims({ email: " Nova@Example.TEST " }))).toBe("nova@example.test");
    expect(normalizedEmail(claims({ email: "not an email" }))).toBeUndefined();
    expect(normalizedEmail(claims({}))).toBeUndefined();
  });
});
