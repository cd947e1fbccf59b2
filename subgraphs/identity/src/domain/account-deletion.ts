import { AuditOutcome, ErrorCode, Role, appError, forbidden, unauthenticated, type AuditContext, type Logger, type SignedInViewer } from "@startales/service-kit";
import type { Db } from "../db";
import { recordAccountEvent, requestAccountErasure } from "./account-events";
import type { RevocationAnnouncer } from "./api-keys";
import { recordAudit } from "./audit";
import type { LoginThrottle } from "./login-throttle";
import { hasPassword, verifyPassword } from "./passwords";

/** What the owner proves again before their account goes: its password, or (an account without one) its email. */
export type DeletionConfirmation = { password?: string | null; email?: string | null };

/** Tells every gateway the account is gone, so none honours a token it still holds. */
export type DeletionAnnouncer = (userId: string) => Promise<void>;

/**
 * A user deletes their own account. With an access token only (a tool's API key cannot),
 * and after proving it again: a stolen token alone must not be enough. The password is
 * checked under the sign-in throttle, so a token cannot be used to guess it.
 *
 * One transaction: the ACCOUNT_DELETED event (outbox; analytics forgets the user when it
 * reads it) and ACCOUNT_ERASURE_REQUESTED (campaign ends their memberships, notification
 * drops their devices, preferences and notifications), an audit entry (ids only), then the user's row, and with it (cascade) their
 * sign-ins, API keys and linked OpenID Connect accounts. The email is free again. After the
 * commit every gateway is told, for the keys and for the access tokens still in the user's
 * hands. What identity keeps: the audit log and the outbox, under the user's id only.
 */
export function createAccountDeletion(deps: {
  db: Db;
  /** ACCOUNT_ERASURE_TOPIC: where the services that keep the user's data are asked to erase it. */
  erasureTopic: string;
  loginThrottle: LoginThrottle;
  announceKeyRevocation: RevocationAnnouncer;
  announceDeletion: DeletionAnnouncer;
  logger: Logger;
  afterCommit?: () => void;
}) {
  const { db, loginThrottle, logger } = deps;

  async function confirm(user: { id: string; email: string; passwordHash: string }, given: DeletionConfirmation, audit: AuditContext) {
    const refuse = async (reason: string, error: Error) => {
      await recordAudit(db, audit, { action: "identity.account.delete", outcome: AuditOutcome.FAILURE, targetType: "User", targetId: user.id, details: { reason } });
      return error;
    };
    if (hasPassword(user.passwordHash)) {
      if (!given.password) throw appError(ErrorCode.BAD_USER_INPUT, "Give your password to delete your account", { field: "password" });
      await loginThrottle.attempt(user.email);
      if (!(await verifyPassword(user.passwordHash, given.password))) throw await refuse("wrong password", unauthenticated("The password is wrong"));
      await loginThrottle.succeeded(user.email);
      return;
    }
    // Signed up through an OpenID Connect provider: no password to ask for.
    if (!given.email) throw appError(ErrorCode.BAD_USER_INPUT, "Give your account's email to delete your account", { field: "email" });
    if (given.email !== user.email) throw await refuse("wrong email", appError(ErrorCode.BAD_USER_INPUT, "This is not your account's email", { field: "email" }));
  }

  return {
    async deleteOwnAccount(viewer: SignedInViewer, given: DeletionConfirmation, audit: AuditContext): Promise<true> {
      if (viewer.credential !== "access_token") throw forbidden("API keys cannot delete accounts: sign in to delete yours");
      const user = await db.user.findUnique({ where: { id: viewer.userId } });
      if (!user) throw unauthenticated("This account no longer exists");
      if (user.roles.includes(Role.SERVICE)) throw forbidden("Service accounts are deleted by their administrators");
      await confirm(user, given, audit);
      const revokedKeys = await db.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM users WHERE id = ${user.id}::uuid FOR UPDATE`;
        if (user.roles.includes(Role.ADMIN)) {
          // Never the last admin: nobody could then grant the role again.
          const admins = await tx.user.count({ where: { roles: { has: Role.ADMIN } } });
          if (admins <= 1) throw appError(ErrorCode.CONFLICT, "The last admin cannot delete their account; make someone else an admin first");
        }
        const keys = await tx.apiKey.findMany({ where: { ownerId: user.id, revokedAt: null }, select: { keyHash: true } });
        const sessions = await tx.refreshToken.count({ where: { userId: user.id, usedAt: null, revokedAt: null, expiresAt: { gt: new Date() } } });
        const version = await recordAccountEvent(tx, user.id, "ACCOUNT_DELETED", {});
        await requestAccountErasure(tx, deps.erasureTopic, user.id, version);
        await recordAudit(tx, audit, {
          action: "identity.account.delete",
          outcome: AuditOutcome.SUCCESS,
          targetType: "User",
          targetId: user.id,
          details: { apiKeys: keys.length, sessions },
        });
        await tx.user.delete({ where: { id: user.id } });
        return keys.map((key) => key.keyHash);
      });
      deps.afterCommit?.();
      await Promise.all([deps.announceDeletion(user.id), ...revokedKeys.map((keyHash) => deps.announceKeyRevocation(keyHash))]);
      logger.info({ userId: user.id, apiKeys: revokedKeys.length }, "account deleted by its owner");
      return true;
    },
  };
}

export type AccountDeletion = ReturnType<typeof createAccountDeletion>;
