import { ACCOUNT_MAIL_REQUESTED, activeTraceparent, eventData } from "@startales/service-kit";
import type { Db } from "../db";
import type { AccountMail, Prisma, User } from "../generated/prisma/client";
import type { AccountMailKind } from "../generated/prisma/enums";
import { signEmailLinkToken } from "./email-link-token";

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
    // Verified meanwhile (by a reset link, say), or the address it verifies is no longer the account's.
    if (mail.kind === "VERIFY_EMAIL" && (user.emailVerifiedAt || user.email !== mail.address)) return "superseded";
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
