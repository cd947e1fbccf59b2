import { randomUUID } from "node:crypto";
import { signEmailLinkToken, verifyEmailLinkToken } from "../../subgraphs/identity/src/domain/email-link-token";

const secret = "a-test-secret-that-is-long-enough-for-hmac";

describe("the token in an account mail's link", () => {
  it("names its mail, for its kind and secret only", () => {
    const mailId = randomUUID();
    const token = signEmailLinkToken(secret, mailId, "VERIFY_EMAIL");
    expect(token).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    expect(verifyEmailLinkToken(secret, token, "VERIFY_EMAIL")).toBe(mailId);
    expect(verifyEmailLinkToken(secret, token, "RESET_PASSWORD")).toBeNull();
    expect(verifyEmailLinkToken(`${secret}!`, token, "VERIFY_EMAIL")).toBeNull();
  });

  it("refuses a changed id or MAC, and anything of another shape", () => {
    const mailId = randomUUID();
    const token = signEmailLinkToken(secret, mailId, "RESET_PASSWORD");
    const [id, mac] = token.split(".") as [string, string];
    const otherId = randomUUID();
    const flip = (text: string, at: number) => `${text.slice(0, at)}${text[at] === "A" ? "B" : "A"}${text.slice(at + 1)}`;
    for (const bad of [`${otherId}.${mac}`, `${id}.${flip(mac, 0)}`, `${id}.${flip(mac, 42)}`, `${id}.${mac.slice(1)}`, `${id}.${mac}=`, `${token}.x`, id, "", ".", `${id.toUpperCase()}.${mac}`]) {
      expect(verifyEmailLinkToken(secret, bad, "RESET_PASSWORD")).toBeNull();
    }
  });
});
