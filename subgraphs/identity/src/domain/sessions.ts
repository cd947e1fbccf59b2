import { randomUUID } from "node:crypto";
import { AuditOutcome, anonymous, conflict, unauthenticated, type AuditContext, type Logger } from "@startales/service-kit";
import type { Db } from "../db";
import { Prisma, type Role, type User } from "../generated/prisma/client";
import { recordAccountEvent } from "./account-events";
import type { AccountMailService } from "./account-mail";
import { signAccessToken, type AccessTokenSettings } from "./access-token";
import { recordAudit } from "./audit";
import type { LoginThrottle } from "./login-throttle";
import { burnPasswordCheck, hasPassword, hashPassword, verifyPassword } from "./passwords";
import { hashRefreshToken, newRefreshTokenSecret } from "./refresh-token-secret";
import type { SigningKey } from "./signing-key";

export type Session = { accessToken: string; refreshToken: string; expiresAt: Date; user: User };

export type SessionSettings = AccessTokenSettings & { refreshTtlDays: number; bootstrapAdminEmails: string[] };

const INVALID_CREDENTIALS = "Invalid email or password";
const INVALID_REFRESH = "Refresh token is invalid or has expired; sign in again";

/** Sign-up, sign-in and refresh-token families: the only code that touches credentials. */
export function createSessionService(deps: { db: Db; key: SigningKey; settings: SessionSettings; logger: Logger; loginThrottle: LoginThrottle; accountMail: AccountMailService; afterCommit?: () => void }) {
  const { db, key, settings, logger, loginThrottle } = deps;
  /** Runs a transaction that wrote an account event, then wakes the outbox relay. */
  const withEvent = async <T>(work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> => {
    const result = await db.$transaction(work);
    deps.afterCommit?.();
    return result;
  };

  async function issue(user: User, familyId: string, tx: Prisma.TransactionClient | Db = db): Promise<Session> {
    const refreshToken = newRefreshTokenSecret();
    await tx.refreshToken.create({
      data: {
        userId: user.id,
        familyId,
        tokenHash: hashRefreshToken(refreshToken),
        expiresAt: new Date(Date.now() + settings.refreshTtlDays * 86_400_000),
      },
    });
    const access = await signAccessToken(key, settings, user);
    return { accessToken: access.token, refreshToken, expiresAt: access.expiresAt, user };
  }

  return {
    /** The new account's address is unverified until the VERIFY_EMAIL mail asked for here is followed. */
    async register(input: { email: string; password: string; displayName: string; locale: string }): Promise<Session> {
      const roles: Role[] = settings.bootstrapAdminEmails.includes(input.email) ? ["PLAYER", "ADMIN"] : ["PLAYER"];
      const passwordHash = await hashPassword(input.password);
      try {
        return await withEvent(async (tx) => {
          const user = await tx.user.create({ data: { email: input.email, displayName: input.displayName, passwordHash, roles, locale: input.locale } });
          await recordAccountEvent(tx, user.id, "ACCOUNT_REGISTERED", { method: "PASSWORD" });
          await deps.accountMail.request(tx, user.id, "VERIFY_EMAIL", user.email);
          return issue(user, randomUUID(), tx);
        });
      } catch (error) {
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
          throw conflict("An account with this email already exists");
        }
        throw error;
      }
    },

    /**
     * Audited either way. The caller is not signed in yet, so entries have no actor; the
     * target is the account the email names, if any (the email itself is never recorded).
     */
    async login(input: { email: string; password: string }, audit: AuditContext): Promise<Session> {
      const asAnonymous = { viewer: anonymous, requestId: audit.requestId };
      const record = (outcome: AuditOutcome, userId: string | null, reason?: string, tx: Prisma.TransactionClient | Db = db) =>
        recordAudit(tx, asAnonymous, { action: "identity.login", outcome, targetType: "User", targetId: userId, details: reason ? { reason } : {} });
      // Throws while the account is locked: even the right password waits out the lock.
      try {
        await loginThrottle.attempt(input.email);
      } catch (error) {
        const locked = await db.user.findUnique({ where: { email: input.email }, select: { id: true } });
        await record(AuditOutcome.FAILURE, locked?.id ?? null, "locked");
        throw error;
      }
      const user = await db.user.findUnique({ where: { email: input.email } });
      // An account without a password (service, OIDC-only) takes as long to refuse as an unknown email.
      if (!user || !hasPassword(user.passwordHash)) {
        await burnPasswordCheck(input.password);
        await record(AuditOutcome.FAILURE, user?.id ?? null, user ? "no password" : "unknown account");
        throw unauthenticated(INVALID_CREDENTIALS);
      }
      if (!(await verifyPassword(user.passwordHash, input.password))) {
        await record(AuditOutcome.FAILURE, user.id, "wrong password");
        throw unauthenticated(INVALID_CREDENTIALS);
      }
      await loginThrottle.succeeded(input.email);
      return withEvent(async (tx) => {
        await record(AuditOutcome.SUCCESS, user.id, undefined, tx);
        await recordAccountEvent(tx, user.id, "SIGNED_IN", { method: "PASSWORD" });
        return issue(user, randomUUID(), tx);
      });
    },

    /**
     * Rotation with reuse detection: each refresh token works once. Presenting one that was
     * already rotated means it leaked (or a client misbehaves), so the whole family is
     * revoked and every holder must sign in again.
     */
    async refresh(presented: string, audit: AuditContext): Promise<Session> {
      const row = await db.refreshToken.findUnique({ where: { tokenHash: hashRefreshToken(presented) }, include: { user: true } });
      if (!row) throw unauthenticated(INVALID_REFRESH);
      if (row.usedAt || row.revokedAt) {
        const revoked = await db.$transaction(async (tx) => {
          const count = await revokeFamily(row.familyId, tx);
          await recordAudit(tx, audit, {
            action: "identity.refresh_token.reuse",
            outcome: AuditOutcome.FAILURE,
            targetType: "User",
            targetId: row.userId,
            details: { familyId: row.familyId, revoked: count },
          });
          return count;
        });
        logger.warn({ familyId: row.familyId, userId: row.userId, revoked }, "refresh token reuse detected; family revoked");
        throw unauthenticated(INVALID_REFRESH);
      }
      if (row.expiresAt <= new Date()) throw unauthenticated(INVALID_REFRESH);
      return withEvent(async (tx) => {
        // Conditional update: of two concurrent refreshes with the same token exactly one
        // wins; the other is refused (without revoking the family: the winner may be the
        // legitimate client retrying).
        const claimed = await tx.refreshToken.updateMany({
          where: { id: row.id, usedAt: null, revokedAt: null },
          data: { usedAt: new Date() },
        });
        if (claimed.count !== 1) throw unauthenticated(INVALID_REFRESH);
        await recordAccountEvent(tx, row.userId, "SIGNED_IN", { method: "REFRESH" });
        return issue(row.user, row.familyId, tx);
      });
    },

    /** A new sign-in (refresh-token family) for a user another credential proved, e.g. an OIDC provider. */
    startSession(user: User, tx: Prisma.TransactionClient | Db = db): Promise<Session> {
      return issue(user, randomUUID(), tx);
    },

    async logout(presented: string): Promise<boolean> {
      const row = await db.refreshToken.findUnique({ where: { tokenHash: hashRefreshToken(presented) } });
      if (!row) return false;
      await revokeFamily(row.familyId);
      return true;
    },
  };

  async function revokeFamily(familyId: string, tx: Prisma.TransactionClient | Db = db): Promise<number> {
    const { count } = await tx.refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: new Date() } });
    return count;
  }
}

export type SessionService = ReturnType<typeof createSessionService>;
