import { randomUUID } from "node:crypto";
import { classifySmtpError } from "../../subgraphs/notification/src/delivery/email-client";
import { accountMail, campaignMail, dailyDigestMail, emailLocale, notificationMail } from "../../subgraphs/notification/src/email/email-templates";
import { campaignNameOf, notificationEmail, unsubscribeHeaders } from "../../subgraphs/notification/src/email/notification-email";
import { renderEmail } from "../../subgraphs/notification/src/email/render-email";
import { readUnsubscribeToken, unsubscribeToken } from "../../subgraphs/notification/src/email/unsubscribe-token";

describe("email templates", () => {
  it("render one source as text and as HTML, with the same words and link", () => {
    const mail = renderEmail(accountMail("VERIFY_EMAIL", "en", { displayName: "Ada", link: "https://startales.test/verify?t=abc&x=1", expiresAt: new Date("2026-12-08T10:00:00Z") }), { locale: "en" });
    expect(mail.subject).toBe("Confirm your email address");
    expect(mail.text).toContain("Hello Ada,");
    expect(mail.text).toContain("Confirm my address: https://startales.test/verify?t=abc&x=1");
    expect(mail.text).toContain("8 December 2026");
    expect(mail.html).toContain("<p>Hello Ada,</p>");
    expect(mail.html).toContain('href="https://startales.test/verify?t=abc&amp;x=1"');
    expect(mail.html).toContain('<html lang="en">');
  });

  it("are localised: French from a French locale, English for any other", () => {
    expect(emailLocale("fr-CA")).toBe("fr");
    expect(emailLocale("FR")).toBe("fr");
    expect(emailLocale("de-DE")).toBe("en");
    expect(emailLocale(null)).toBe("en");
    const fr = renderEmail(accountMail("RESET_PASSWORD", "fr", { displayName: "Zoé", link: "https://s.test/r", expiresAt: null }), { locale: "fr" });
    expect(fr.subject).toBe("Réinitialisez votre mot de passe");
    expect(fr.text).toContain("Bonjour Zoé,");
    expect(fr.html).toContain("Choisir un nouveau mot de passe");
    const started = campaignMail("CAMPAIGN_STARTED", "fr", { campaignName: "Andromède", link: "https://s.test/" });
    expect(started.subject).toBe("Andromède a commencé");
  });

  it("escape every value in the HTML, never in the text, and keep the subject one line", () => {
    const mail = renderEmail(campaignMail("CAMPAIGN_PAUSED", "en", { campaignName: '<script>alert("x")</script>\r\nBcc: a@b', link: "https://s.test/" }), { locale: "en", unsubscribeUrl: "https://s.test/email/unsubscribe/t" });
    expect(mail.html).not.toContain("<script>");
    expect(mail.html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(mail.subject).toBe('<script>alert("x")</script> Bcc: a@b is paused');
    expect(mail.text).toContain("https://s.test/email/unsubscribe/t");
    expect(mail.html).toContain('<a href="https://s.test/email/unsubscribe/t">');
  });

  it("cover the account mails without a link, the alerts and the digest", () => {
    const notice = renderEmail(accountMail("PASSWORD_CHANGED_NOTICE", "en", { displayName: "Ada", link: null, expiresAt: null }), { locale: "en" });
    expect(notice.text).not.toContain("http");
    const alert = renderEmail(notificationMail("fr", { title: "[FIRING] QueueBacklog (1)", body: "first\n\nsecond", link: "https://s.test/" }), { locale: "fr" });
    expect(alert.html).toContain("<p>first</p><p>second</p>");
    expect(alert.text).toContain("Ouvrir Startales");
    const digest = renderEmail(dailyDigestMail("en", { displayName: "Ada", items: [{ title: "A", body: "a" }, { title: "B", body: "b" }], link: "https://s.test/" }), { locale: "en" });
    expect(digest.subject).toBe("Your day in Startales: 2 notifications");
  });

  it("localise a campaign notification from its stored English title", () => {
    expect(campaignNameOf("CAMPAIGN_ENDED", "Orion's Belt has ended")).toBe("Orion's Belt");
    expect(campaignNameOf("CAMPAIGN_ENDED", "Something else")).toBeNull();
    const mail = notificationEmail({ category: "CAMPAIGN", title: "Orion has started", body: "…", data: { template: "CAMPAIGN_STARTED" } }, "fr", "https://s.test/");
    expect(mail.subject).toBe("Orion a commencé");
    const other = notificationEmail({ category: "SYSTEM", title: "Maintenance", body: "Back soon", data: {} }, "en", "https://s.test/");
    expect(other.subject).toBe("Maintenance");
  });
});

describe("one-click unsubscribe tokens", () => {
  const secret = "s".repeat(48);
  it("name a user and a category, signed; anything else is refused", () => {
    const userId = randomUUID();
    const token = unsubscribeToken(secret, userId, "CAMPAIGN");
    expect(readUnsubscribeToken(secret, token)).toEqual({ userId, category: "CAMPAIGN" });
    expect(readUnsubscribeToken("t".repeat(48), token)).toBeNull();
    expect(readUnsubscribeToken(secret, token.replace("CAMPAIGN", "SYSTEM"))).toBeNull();
    expect(readUnsubscribeToken(secret, `${token}x`)).toBeNull();
    expect(readUnsubscribeToken(secret, "garbage")).toBeNull();
    expect(unsubscribeHeaders("https://s.test/email/unsubscribe/x")).toEqual({ "List-Unsubscribe": "<https://s.test/email/unsubscribe/x>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" });
  });
});

describe("SMTP replies", () => {
  const error = (fields: Record<string, unknown>) => Object.assign(new Error("smtp"), fields);
  it("5xx to a recipient is a dead address, 5xx to the message a refusal, 4xx and network errors retries", () => {
    expect(classifySmtpError(error({ code: "EENVELOPE", responseCode: 550, command: "RCPT TO" }))).toEqual({ kind: "bounced", code: "SMTP_550" });
    expect(classifySmtpError(error({ code: "EMESSAGE", responseCode: 554, command: "DATA" }))).toEqual({ kind: "rejected", code: "SMTP_554" });
    expect(classifySmtpError(error({ code: "EENVELOPE", responseCode: 451, command: "RCPT TO" }))).toMatchObject({ kind: "retry", code: "SMTP_451" });
    expect(classifySmtpError(error({ code: "ECONNECTION" }))).toMatchObject({ kind: "retry", code: "SMTP_ECONNECTION" });
    expect(classifySmtpError(error({ code: "EAUTH", responseCode: 535 }))).toMatchObject({ kind: "retry" });
  });
});
