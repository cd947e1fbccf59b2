import { AuditOutcome, ErrorCode, Role, anonymous, appError, conflict, forbidden, unauthenticated, type AuditContext, type AuditDetails, type SignedInViewer } from "@startales/service-kit";
import type { Db } from "../db";
import { Prisma, type User } from "../generated/prisma/client";
import type { AccountMailService } from "./account-mail";
import { recordAudit } from "./audit";
import { INVALID_LINK } from "./email-verification";
import type { LoginThrottle } from "./login-throttle";
import { hasPassword, verifyPassword } from "./passwords";

/**
 * Changing the account's address, confirmed by a link mailed to the new one (which proves it
 * is the user's) while the old one is told (so a takeover does not go unnoticed).
 *
 * Asking for an address another account has is answered like any other request (true) and
 * mails nothing: answering CONFLICT would let any signed-in user test which addresses have
 * accounts. The owner of the address gets nothing either; the asker never sees a link, so the
 * change simply does not happen. The link re-checks at confirmation (CONFLICT if the address
 * was taken meanwhile: by then the asker has proved they own it).
 */
export function createEmailChange(deps: { db: Db; accountMail: AccountMailService; loginThrottle: LoginThrottle; afterCommit?: () => void }) {
  const { db, accountMail, loginThrottle } = deps;
  return {
    async request(viewer: SignedInViewer, input: { newEmail: string; password?: string | null }, audit: AuditContext): Promise<true> {
      // Like deleteAccount: a tool's API key must not move the account to another mailbox.
      if (viewer.credential !== "access_token") throw forbidden("API keys cannot change the address: sign in to change yours");
      const user = await db.user.findUnique({ where: { id: viewer.userId } });
      if (!user) throw unauthenticated("This account no longer exists");
      if (user.roles.includes(Role.SERVICE)) throw forbidden("Service accounts have no address");
      const record = (outcome: AuditOutcome, details: AuditDetails, tx: Prisma.TransactionClient | Db = db) =>
        recordAudit(tx, audit, { action: "identity.email-change.request", outcome, targetType: "User", targetId: user.id, details });
      if (hasPassword(user.passwordHash)) {
        if (!input.password) throw appError(ErrorCode.BAD_USER_INPUT, "Give your password to change your address", { field: "password" });
        await loginThrottle.attempt(user.email);
        if (!(await verifyPassword(user.passwordHash, input.password))) {
          await record(AuditOutcome.FAILURE, { reason: "wrong password" });
          throw unauthenticated("The password is wrong");
        }
        await loginThrottle.succeeded(user.email);
      }
      if (input.newEmail === user.email) throw appError(ErrorCode.BAD_USER_INPUT, "This is already your address", { field: "newEmail" });
      const sent = await db.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM users WHERE id = ${user.id}::uuid FOR UPDATE`;
        const taken = await tx.user.findUnique({ where: { email: input.newEmail }, select: { id: true } });
        if (taken) {
          await record(AuditOutcome.FAILURE, { reason: "address taken" }, tx);
          return false;
        }
        const link = await accountMail.request(tx, user.id, "CONFIRM_EMAIL_CHANGE", input.newEmail, { newEmail: input.newEmail });
        const notice = await accountMail.request(tx, user.id, "EMAIL_CHANGE_NOTICE", user.email);
        await record(AuditOutcome.SUCCESS, { mailId: link.id, noticeId: notice.id }, tx);
        return true;
      });
      if (sent) deps.afterCommit?.();
      return true;
    },

    /** The token is the credential: it reached the new address, which becomes the account's, verified. */
    async confirm(token: string, audit: AuditContext): Promise<User> {
      const asAnonymous = { viewer: anonymous, requestId: audit.requestId };
      const refuse = async (userId: string | null, reason: string) =>
        recordAudit(db, asAnonymous, { action: "identity.email-change.confirm", outcome: AuditOutcome.FAILURE, targetType: "User", targetId: userId, details: { reason } });
      let result: { user: User } | { refused: string; userId: string | null };
      try {
        result = await db.$transaction(async (tx) => {
          const claimed = await accountMail.claim(tx, token, "CONFIRM_EMAIL_CHANGE");
          if ("refused" in claimed) return claimed;
          const now = new Date();
          const user = await tx.user.update({
            where: { id: claimed.user.id },
            data: { email: claimed.mail.newEmail!, emailVersion: { increment: 1 }, emailVerifiedAt: now },
          });
          await recordAudit(tx, asAnonymous, { action: "identity.email-change.confirm", outcome: AuditOutcome.SUCCESS, targetType: "User", targetId: user.id, details: { mailId: claimed.mail.id } });
          return { user };
        });
      } catch (error) {
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
          // The transaction rolled back: the link still works, should the address be freed again.
          await refuse(null, "address taken");
          throw conflict("Another account has this address now");
        }
        throw error;
      }
      if ("refused" in result) {
        await refuse(result.userId, result.refused);
        throw appError(ErrorCode.BAD_USER_INPUT, INVALID_LINK, { field: "token" });
      }
      return result.user;
    },
  };
}

export type EmailChange = ReturnType<typeof createEmailChange>;
