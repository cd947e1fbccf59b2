import type { NotificationCategory } from "../generated/prisma/client";
import { TEMPLATES } from "../domain/templates";
import { isDigestData } from "../digest/digest-data";
import { campaignMail, dailyDigestMail, notificationMail, type CampaignTemplate, type EmailContent, type EmailLocale } from "./email-templates";

const CAMPAIGN_TEMPLATES = new Set<string>(["CAMPAIGN_STARTED", "CAMPAIGN_PAUSED", "CAMPAIGN_RESUMED", "CAMPAIGN_ENDED"]);
const MARK = "\u0000";

/**
 * The campaign's name in a notification's title as TEMPLATES wrote it: the inbox keeps the
 * rendered title, not the name, and a mail in another language needs the name alone.
 */
export function campaignNameOf(template: CampaignTemplate, title: string): string | null {
  const [before, after] = TEMPLATES[template].title({ campaignName: MARK }).split(MARK) as [string, string];
  if (!title.startsWith(before) || !title.endsWith(after) || title.length <= before.length + after.length) return null;
  return title.slice(before.length, title.length - after.length);
}

/** A notification as a mail in the recipient's language: a daily digest and the campaign templates localised, anything else its own words in a localised frame. */
export function notificationEmail(notification: { category: NotificationCategory; title: string; body: string; data: unknown }, locale: EmailLocale, link: string, displayName = ""): EmailContent {
  if (isDigestData(notification.data)) return dailyDigestMail(locale, { displayName, items: notification.data.items, count: notification.data.count, link });
  const template = (notification.data as { template?: unknown } | null)?.template;
  if (typeof template === "string" && CAMPAIGN_TEMPLATES.has(template)) {
    const campaignName = campaignNameOf(template as CampaignTemplate, notification.title);
    if (campaignName !== null) return campaignMail(template as CampaignTemplate, locale, { campaignName, link });
  }
  return notificationMail(locale, { title: notification.title, body: notification.body, link });
}

/** Where a mail's one-click unsubscribe link points (the gateway forwards it here). */
export const unsubscribeUrl = (publicBaseUrl: string, token: string) => new URL(`/email/unsubscribe/${token}`, publicBaseUrl).toString();

/** RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs `List-Unsubscribe=One-Click` to the link. */
export const unsubscribeHeaders = (url: string): Record<string, string> => ({
  "List-Unsubscribe": `<${url}>`,
  "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
});
