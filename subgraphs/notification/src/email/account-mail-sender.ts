import type { Logger } from "@startales/service-kit";
import type { Db } from "../db";
import { RetryDelivery } from "../delivery/delivery-runner";
import type { EmailClient } from "../delivery/email-client";
import { suppress, suppressedUsers } from "../delivery/email-sender";
import { accountMail, emailLocale, type AccountMailKind } from "./email-templates";
import type { IdentityMailClient } from "./identity-mail";
import { renderEmail } from "./render-email";

export type AccountMailOutcome = "SENT" | "DROPPED" | "SUPPRESSED" | "FAILED";

/**
 * Sends one account mail (verification, reset, the change of address and its notices):
 * identity says to whom, in which language and with which link, at send time (a 410: moot,
 * dropped). Preferences and quiet hours do not apply, a suppression does, but only of the
 * address it was recorded for: a mail to a new address (its confirmation) has a new version.
 * Throws a RetryDelivery for what another attempt may fix (identity or the mail server down, 4xx).
 */
export function createAccountMailSender(deps: { db: Db; email: EmailClient; identity: IdentityMailClient; logger: Logger }) {
  const { db, logger } = deps;
  return {
    async send(mail: { mailId: string; kind: string }, attempt: { made: number; max: number }): Promise<AccountMailOutcome> {
      let found;
      let current;
      try {
        found = await deps.identity.accountMail(mail.mailId);
        if (found === "gone") {
          logger.info({ mailId: mail.mailId, kind: mail.kind }, "account mail is moot; dropped");
          return "DROPPED";
        }
        current = (await deps.identity.addresses([found.userId])).get(found.userId) ?? null;
      } catch (error) {
        logger.warn({ err: error, mailId: mail.mailId }, "identity could not say what to mail; retrying");
        throw new RetryDelivery("IDENTITY_UNAVAILABLE", null);
      }
      // The account's own address (not a new one being confirmed): its suppression applies.
      const ownAddress = current && current.email.toLowerCase() === found.to.toLowerCase() ? current : null;
      if (ownAddress && (await suppressedUsers(db, [ownAddress])).size > 0) {
        logger.info({ mailId: mail.mailId, kind: found.kind }, "account mail to a suppressed address; not sent");
        return "SUPPRESSED";
      }
      const locale = emailLocale(found.locale);
      const rendered = renderEmail(
        accountMail(found.kind as AccountMailKind, locale, { displayName: found.displayName, link: found.link, expiresAt: found.expiresAt ? new Date(found.expiresAt) : null }),
        { locale },
      );
      const outcome = await deps.email.send({ to: found.to, ...rendered });
      switch (outcome.kind) {
        case "sent":
          return "SENT";
        case "bounced":
          if (ownAddress) await suppress(db, ownAddress, outcome.code);
          logger.info({ mailId: mail.mailId, code: outcome.code }, "mail server refused an account mail's address");
          return "FAILED";
        case "rejected":
          logger.warn({ mailId: mail.mailId, code: outcome.code }, "mail server refused an account mail");
          return "FAILED";
        case "retry":
          if (attempt.made + 1 >= attempt.max) logger.warn({ mailId: mail.mailId, code: outcome.code }, "account mail not sent after its last attempt");
          throw new RetryDelivery(outcome.code, outcome.retryAfterMs);
      }
    },
  };
}
