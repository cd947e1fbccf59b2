import type { Logger } from "@startales/service-kit";
import type { Db } from "../db";
import { emailLocale } from "../email/email-templates";
import type { IdentityMailClient, UserAddress } from "../email/identity-mail";
import { notificationEmail, unsubscribeHeaders, unsubscribeUrl } from "../email/notification-email";
import { renderEmail } from "../email/render-email";
import { unsubscribeToken } from "../email/unsubscribe-token";
import type { DeliveryToSend } from "./delivery-store";
import type { EmailClient, EmailOutcome } from "./email-client";
import type { PushOutcome } from "./push-client";

/** What became of one email delivery: as a push's, or skipped before anything was sent. */
export type EmailDeliveryOutcome = Exclude<PushOutcome, { kind: "unregistered" }> | { kind: "skipped"; code: string };

/** Mails sent at once per batch (the transport's pool queues the rest). */
const SLICE = 25;

/** Whether `address` is the one a suppression was recorded for (its version), so nothing goes to it. */
export async function suppressedUsers(db: Db, addresses: UserAddress[]): Promise<Set<string>> {
  if (addresses.length === 0) return new Set();
  const rows = await db.emailSuppression.findMany({ where: { userId: { in: addresses.map((a) => a.id) } } });
  const versions = new Map(rows.map((row) => [row.userId, row.emailVersion]));
  return new Set(addresses.filter((a) => versions.get(a.id) === a.emailVersion).map((a) => a.id));
}

/** Records that the server refused this user's address for good: no mail to it until identity's emailVersion changes. */
export async function suppress(db: Db, address: UserAddress, reason: string): Promise<void> {
  await db.emailSuppression.upsert({
    where: { userId: address.id },
    create: { userId: address.id, emailVersion: address.emailVersion, reason },
    update: { emailVersion: address.emailVersion, reason, createdAt: new Date() },
  });
}

/**
 * Email deliveries of notifications: each recipient's address asked of identity at send time
 * (never stored), only verified addresses mailed, a suppressed one skipped, the mail in the
 * recipient's locale with its one-click unsubscribe link. A recipient's 5xx suppresses their
 * address (this delivery fails, no retry); 4xx and network errors are retried by the queue.
 * Throws when identity cannot answer now (the whole batch is retried).
 */
export function createEmailSender(deps: { db: Db; email: EmailClient; identity: IdentityMailClient; unsubscribeSecret: string; publicBaseUrl: string; logger: Logger }) {
  const { db, logger } = deps;
  const link = new URL("/", deps.publicBaseUrl).toString();

  async function sendOne(delivery: DeliveryToSend, address: UserAddress, suppressed: Set<string>): Promise<EmailDeliveryOutcome> {
    const locale = emailLocale(address.locale);
    const url = unsubscribeUrl(deps.publicBaseUrl, unsubscribeToken(deps.unsubscribeSecret, delivery.recipientId, delivery.category));
    const rendered = renderEmail(notificationEmail(delivery, locale, link, address.displayName), { locale, unsubscribeUrl: url });
    const outcome: EmailOutcome = await deps.email.send({ to: address.email, ...rendered, headers: unsubscribeHeaders(url) });
    if (outcome.kind !== "bounced") return outcome;
    await suppress(db, address, outcome.code);
    // The batch's later mails to them are skipped too.
    suppressed.add(address.id);
    logger.info({ userId: address.id, code: outcome.code }, "mail server refused an address; email off for the user until it changes");
    return { kind: "rejected", code: outcome.code };
  }

  return {
    async send(deliveries: DeliveryToSend[]): Promise<EmailDeliveryOutcome[]> {
      const addresses = await deps.identity.addresses(deliveries.map((d) => d.recipientId));
      const suppressed = await suppressedUsers(db, [...addresses.values()]);
      const outcomes: EmailDeliveryOutcome[] = [];
      for (let i = 0; i < deliveries.length; i += SLICE) {
        const slice = deliveries.slice(i, i + SLICE).map((delivery): Promise<EmailDeliveryOutcome> => {
          const address = addresses.get(delivery.recipientId);
          if (!address) return Promise.resolve({ kind: "skipped", code: "EMAIL_NO_ACCOUNT" });
          if (!address.emailVerified) return Promise.resolve({ kind: "skipped", code: "EMAIL_UNVERIFIED" });
          if (suppressed.has(address.id)) return Promise.resolve({ kind: "skipped", code: "EMAIL_SUPPRESSED" });
          return sendOne(delivery, address, suppressed);
        });
        outcomes.push(...(await Promise.all(slice)));
      }
      return outcomes;
    },
  };
}

export type EmailSender = ReturnType<typeof createEmailSender>;
