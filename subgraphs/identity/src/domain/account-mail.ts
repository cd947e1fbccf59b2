import { ACCOUNT_MAIL_REQUESTED, activeTraceparent, eventData } from "@startales/service-kit";
import type { Db } from "../db";
import type { AccountMail, Prisma, User } from "../generated/prisma/client";
import type { AccountMailKind } from "../generated/prisma/enums";
import { signEmailLinkToken, verifyEmailLinkToken } from "./email-link-token";

type Tx = Prisma.TransactionClient;

export type AccountMailSettings = {
  /** ACCOUNT_MAIL_TOPIC. */
  topic: string;
  linkSecret: string;
  linkBaseUrl: string;
  ttlMs: { VERIFY_EMAIL: number; RESET_PASSWORD: number; CONFIRM_EMAIL_CHANGE: number };
};

/** The kinds that carry a link, and the web app page each opens. */
const LINK_PAGES: Partial<Record<AccountMailKind, string>> = {
  VERIFY_EMAIL: "verify-email",
  RESET_PASSWORD: "reset-password",
  CONFIRM_EMAIL_CHANGE: "confirm-email",
};

export const hasLink = (kind: AccountMailKind) => kind in LINK_PAGES;

/** What the notification worker pool is told about one mail (ACCOUNT_MAIL_PATH). */
export type MailDescription = {
  kind: AccountMailKind;
  to: string;
  locale: string;
  displayName: string;
  userId: string;
  link: string | null;
  expiresAt: string | null;
};

/**
 * Account mail: a row per mail (its kind, where it goes, its link's lifetime) and, in the same
 * transaction, ACCOUNT_MAIL_REQUESTED for the notification worker pool, which asks describe()
 * for the address and the link when it sends. Only identity knows either.
 */
export function createAccountMail(settings: AccountMailSettings) {
  const linkFor = (mail: Pick<AccountMail, "id" | "kind">) => {
    const page = LINK_PAGES[mail.kind];
    return page ? `${settings.linkBaseUrl}/${page}?token=${signEmailLinkToken(settings.linkSecret, mail.id, mail.kind)}` : null;
  };

  /** Why a mail's link no longer works (or its mail is pointless), or null while it is good. */
  const moot = (mail: AccountMail, user: Pick<User, "email" | "emailVerifiedAt">, now = new Date()): string | null => {
    if (!hasLink(mail.kind)) return null;
    if (mail.usedAt) return "used";
    if (mail.supersededAt) return "superseded";
    if (mail.expiresAt && mail.expiresAt <= now) return "expired";
    // Verified meanwhile (by a reset link, say), or the address it was sent to is no longer the account's.
    if (mail.kind === "VERIFY_EMAIL" && user.emailVerifiedAt) return "superseded";
    if ((mail.kind === "VERIFY_EMAIL" || mail.kind === "RESET_PASSWORD") && user.email !== mail.address) return "superseded";
    return null;
  };

  return {
    moot,
    linkFor,

    /**
     * Records a mail of `kind` to `address` and asks for it to be sent, in the caller's
     * transaction. A newer link of a kind replaces the older ones: only the last one sent works.
     * The event's version is the account's event count (ACCOUNT_MAIL_REQUESTED is no account
     * event, so it does not add to it).
     */
    async request(tx: Tx, userId: string, kind: AccountMailKind, address: string, extra: { newEmail?: string } = {}): Promise<AccountMail> {
      const now = new Date();
      if (hasLink(kind)) await tx.accountMail.updateMany({ where: { userId, kind, usedAt: null, supersededAt: null }, data: { supersededAt: now } });
      const ttl = (settings.ttlMs as Partial<Record<AccountMailKind, number>>)[kind];
      const mail = await tx.accountMail.create({
        data: { userId, kind, address, newEmail: extra.newEmail ?? null, expiresAt: ttl === undefined ? null : new Date(now.getTime() + ttl) },
      });
      const { eventVersion } = await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { eventVersion: true } });
      const data = eventData(settings.topic, ACCOUNT_MAIL_REQUESTED, { kind, mailId: mail.id }) as Prisma.InputJsonValue;
      await tx.outboxEvent.create({ data: { topic: settings.topic, type: ACCOUNT_MAIL_REQUESTED, aggregateId: userId, version: eventVersion, data, traceparent: activeTraceparent() } });
      return mail;
    },

    /**
     * Uses the link `token` of `kind` in the caller's transaction: the mail and its user (the
     * user's row locked), the mail marked used; null for any token that does not work (bad MAC,
     * unknown, used, expired, superseded), with nothing changed, so callers answer all alike.
     */
    async claim(tx: Tx, token: string, kind: AccountMailKind): Promise<{ mail: AccountMail; user: User } | { refused: string; userId: string | null }> {
      const mailId = verifyEmailLinkToken(settings.linkSecret, token, kind);
      if (!mailId) return { refused: "bad token", userId: null };
      const mail = await tx.accountMail.findUnique({ where: { id: mailId } });
      if (!mail || mail.kind !== kind) return { refused: "unknown mail", userId: null };
      await tx.$queryRaw`SELECT id FROM users WHERE id = ${mail.userId}::uuid FOR UPDATE`;
      const user = await tx.user.findUnique({ where: { id: mail.userId } });
      if (!user) return { refused: "unknown mail", userId: null };
      const reason = moot(mail, user);
      if (reason) return { refused: reason, userId: user.id };
      // Conditional: of two uses at once, exactly one wins.
      const claimed = await tx.accountMail.updateMany({ where: { id: mail.id, usedAt: null, supersededAt: null }, data: { usedAt: new Date() } });
      if (claimed.count !== 1) return { refused: "used", userId: user.id };
      return { mail, user };
    },

    /** How many mails of `kind` the user was sent since `since`, and the oldest one's time (for a retry-after). */
    async sentSince(tx: Tx | Db, userId: string, kind: AccountMailKind, since: Date): Promise<{ count: number; oldest: Date | null }> {
      const rows = await tx.accountMail.findMany({ where: { userId, kind, createdAt: { gt: since } }, select: { createdAt: true }, orderBy: { createdAt: "asc" } });
      return { count: rows.length, oldest: rows[0]?.createdAt ?? null };
    },

    /** What a mail says and to whom; "unknown" when there is no such mail, "gone" when sending it is pointless. */
    async describe(db: Db, mailId: string): Promise<MailDescription | "unknown" | "gone"> {
      const mail = await db.accountMail.findUnique({ where: { id: mailId }, include: { user: true } });
      if (!mail) return "unknown";
      if (moot(mail, mail.user)) return "gone";
      return {
        kind: mail.kind,
        to: mail.address,
        locale: mail.user.locale,
        displayName: mail.user.displayName,
        userId: mail.userId,
        link: linkFor(mail),
        expiresAt: mail.expiresAt?.toISOString() ?? null,
      };
    },
  };
}

export type AccountMailService = ReturnType<typeof createAccountMail>;
