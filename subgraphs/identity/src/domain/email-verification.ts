import { AuditOutcome, ErrorCode, Role, anonymous, appError, conflict, forbidden, unauthenticated, type AuditContext } from "@startales/service-kit";
import type { Db } from "../db";
import type { User } from "../generated/prisma/client";
import type { AccountMailService } from "./account-mail";
import { recordAudit } from "./audit";

/** Resends per user per window: enough for a lost mail, too few to use us to flood a mailbox. */
export const RESENDS_PER_WINDOW = 3;
export const RESEND_WINDOW_MS = 3_600_000;

/** One answer for every link that does not work: nothing tells a guesser which part was wrong. */
export const INVALID_LINK = "This link is invalid or has expired; ask for a new one";

/** Verifying the account's address by the link mailed to it (at sign-up, or resent). */
export function createEmailVerification(deps: { db: Db; accountMail: AccountMailService; afterCommit?: () => void }) {
  const { db, accountMail } = deps;
  return {
    async resend(userId: string, audit: AuditContext): Promise<true> {
      const outcome = await db.$transaction(async (tx) => {
        // Locked: two resends at once count each other.
        await tx.$queryRaw`SELECT id FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
        const user = await tx.user.findUnique({ where: { id: userId } });
        if (!user) throw unauthenticated("This account no longer exists");
        if (user.roles.includes(Role.SERVICE)) throw forbidden("Service accounts have no address to verify");
        if (user.emailVerifiedAt) throw conflict("This address is already verified");
        const window = new Date(Date.now() - RESEND_WINDOW_MS);
        // Resends only: the sign-up's own mail is not one (it is the first VERIFY_EMAIL row).
        const resent = await tx.auditEntry.findMany({
          where: { action: "identity.email.resend", outcome: AuditOutcome.SUCCESS, targetId: userId, occurredAt: { gt: window } },
          select: { occurredAt: true },
          orderBy: { occurredAt: "asc" },
        });
        if (resent.length >= RESENDS_PER_WINDOW) {
          const retryAfter = Math.max(1, Math.ceil((resent[0]!.occurredAt.getTime() + RESEND_WINDOW_MS - Date.now()) / 1000));
          return { limited: retryAfter };
        }
        await accountMail.request(tx, user.id, "VERIFY_EMAIL", user.email);
        await recordAudit(tx, audit, { action: "identity.email.resend", outcome: AuditOutcome.SUCCESS, targetType: "User", targetId: user.id, details: {} });
        return { limited: null };
      });
      if (outcome.limited !== null) {
        await recordAudit(db, audit, { action: "identity.email.resend", outcome: AuditOutcome.FAILURE, targetType: "User", targetId: userId, details: { reason: "rate limited" } });
        throw appError(ErrorCode.RATE_LIMITED, `At most ${RESENDS_PER_WINDOW} verification mails an hour; try again later`, { retryAfter: outcome.limited });
      }
      deps.afterCommit?.();
      return true;
    },

    /** The token is the credential: whoever holds a working one verifies the address it was sent to. */
    async verify(token: string, audit: AuditContext): Promise<User> {
      const asAnonymous = { viewer: anonymous, requestId: audit.requestId };
      const result = await db.$transaction(async (tx) => {
        const claimed = await accountMail.claim(tx, token, "VERIFY_EMAIL");
        if ("refused" in claimed) return claimed;
        const user = await tx.user.update({ where: { id: claimed.user.id }, data: { emailVerifiedAt: new Date() } });
        await recordAudit(tx, asAnonymous, { action: "identity.email.verify", outcome: AuditOutcome.SUCCESS, targetType: "User", targetId: user.id, details: { mailId: claimed.mail.id } });
        return { user };
      });
      if ("refused" in result) {
        await recordAudit(db, asAnonymous, { action: "identity.email.verify", outcome: AuditOutcome.FAILURE, targetType: "User", targetId: result.userId, details: { reason: result.refused } });
        throw appError(ErrorCode.BAD_USER_INPUT, INVALID_LINK, { field: "token" });
      }
      return result.user;
    },
  };
}

export type EmailVerification = ReturnType<typeof createEmailVerification>;
