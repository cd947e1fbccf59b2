import { randomUUID } from "node:crypto";
import { AuditOutcome, ErrorCode, Role, anonymous, appError, type AuditContext, type Logger } from "@startales/service-kit";
import type { Db } from "../db";
import type { AccountMailService } from "./account-mail";
import { recordAudit } from "./audit";
import { INVALID_LINK } from "./email-verification";
import type { LoginThrottle } from "./login-throttle";
import { hashPassword } from "./passwords";

/** Reset mails per account per window; beyond, requests are answered alike and send nothing. */
export const RESETS_PER_WINDOW = 3;
export const RESET_WINDOW_MS = 3_600_000;

/** Tells every gateway to refuse the user's access tokens issued before `notBefore` (epoch s). */
export type SessionsRevokedAnnouncer = (userId: string, notBefore: number) => Promise<void>;

/**
 * Password reset by a link mailed to the account's address.
 *
 * requestPasswordReset answers true whoever asks, so it tells nobody which addresses have
 * accounts. Its timing must not tell either: the mail is sent later by the notification worker
 * pool (the request only writes rows), and both branches run the same transaction shape — the
 * address looked up and locked, the recent reset mails counted, one audit entry — the known
 * account's adding the mail's row and its outbox event (two inserts and an update), well under
 * what network jitter hides. Over the limit, it answers the same and sends nothing.
 *
 * resetPassword uses the link once: the new password, every sign-in (refresh-token family)
 * revoked, and every gateway told to refuse the access tokens issued before; the address is
 * verified (the mail reached it), pending changes of address are cancelled (a reset may follow
 * a takeover), and a PASSWORD_CHANGED_NOTICE goes to the address.
 */
export function createPasswordReset(deps: {
  db: Db;
  accountMail: AccountMailService;
  loginThrottle: LoginThrottle;
  announceSessionsRevoked: SessionsRevokedAnnouncer;
  logger: Logger;
  afterCommit?: () => void;
}) {
  const { db, accountMail } = deps;
  return {
    async request(email: string, audit: AuditContext): Promise<true> {
      const asAnonymous = { viewer: anonymous, requestId: audit.requestId };
      const sent = await db.$transaction(async (tx) => {
        const [found] = await tx.$queryRaw<{ id: string; roles: string[] }[]>`SELECT id::text AS id, roles::text[] AS roles FROM users WHERE email = ${email} FOR UPDATE`;
        // Unknown: a count for an id nobody has, so both branches ask the same of the database.
        const recent = await accountMail.sentSince(tx, found?.id ?? randomUUID(), "RESET_PASSWORD", new Date(Date.now() - RESET_WINDOW_MS));
        const refuse = (reason: string) =>
          recordAudit(tx, asAnonymous, { action: "identity.password-reset.request", outcome: AuditOutcome.FAILURE, targetType: "User", targetId: found?.id ?? null, details: { reason } });
        if (!found) return refuse("unknown account").then(() => false);
        if (found.roles.includes(Role.SERVICE)) return refuse("service account").then(() => false);
        if (recent.count >= RESETS_PER_WINDOW) return refuse("rate limited").then(() => false);
        const mail = await accountMail.request(tx, found.id, "RESET_PASSWORD", email);
        await recordAudit(tx, asAnonymous, { action: "identity.password-reset.request", outcome: AuditOutcome.SUCCESS, targetType: "User", targetId: found.id, details: { mailId: mail.id } });
        return true;
      });
      if (sent) deps.afterCommit?.();
      return true;
    },

    async reset(token: string, password: string, audit: AuditContext): Promise<true> {
      const asAnonymous = { viewer: anonymous, requestId: audit.requestId };
      // Hashed before the transaction: argon2 takes tens of milliseconds, no lock should wait on it.
      const passwordHash = await hashPassword(password);
      const result = await db.$transaction(async (tx) => {
        const claimed = await accountMail.claim(tx, token, "RESET_PASSWORD");
        if ("refused" in claimed) return claimed;
        const { user, mail } = claimed;
        const now = new Date();
        await tx.user.update({ where: { id: user.id }, data: { passwordHash, emailVerifiedAt: user.emailVerifiedAt ?? now } });
        const { count: sessions } = await tx.refreshToken.updateMany({ where: { userId: user.id, revokedAt: null }, data: { revokedAt: now } });
        await tx.accountMail.updateMany({ where: { userId: user.id, kind: "CONFIRM_EMAIL_CHANGE", usedAt: null, supersededAt: null }, data: { supersededAt: now } });
        await accountMail.request(tx, user.id, "PASSWORD_CHANGED_NOTICE", user.email);
        await recordAudit(tx, asAnonymous, { action: "identity.password-reset", outcome: AuditOutcome.SUCCESS, targetType: "User", targetId: user.id, details: { mailId: mail.id, sessions } });
        return { user };
      });
      if ("refused" in result) {
        await recordAudit(db, asAnonymous, { action: "identity.password-reset", outcome: AuditOutcome.FAILURE, targetType: "User", targetId: result.userId, details: { reason: result.refused } });
        throw appError(ErrorCode.BAD_USER_INPUT, INVALID_LINK, { field: "token" });
      }
      deps.afterCommit?.();
      const { user } = result;
      // The new password is proof enough: a lock from guesses at the old one ends.
      await deps.loginThrottle.succeeded(user.email);
      // Tokens carry their issue time in whole seconds: every token issued until now has an
      // iat below the next second. Answering only once that second has begun means the
      // tokens of the sign-in that follows this answer are never caught by the cutoff.
      const notBefore = Math.floor(Date.now() / 1000) + 1;
      await deps.announceSessionsRevoked(user.id, notBefore);
      const wait = notBefore * 1000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      deps.logger.info({ userId: user.id }, "password reset; every sign-in of the account ended");
      return true;
    },
  };
}

export type PasswordReset = ReturnType<typeof createPasswordReset>;
