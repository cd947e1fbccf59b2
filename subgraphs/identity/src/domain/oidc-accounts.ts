import { randomUUID } from "node:crypto";
import { conflict, notFound } from "@startales/service-kit";
import type { Db } from "../db";
import type { LinkedIdentity, Prisma, Role, User } from "../generated/prisma/client";
import { displayNameFrom, normalizedEmail } from "./oidc-claims";
import type { ProviderClaims } from "./oidc-code-redemption";
import { hasPassword } from "./passwords";

type Tx = Prisma.TransactionClient;

/** How a sign-in found its user: the audit and the logs tell these apart. */
export type OidcAccountOutcome = "linked_identity" | "linked_by_email" | "created";

// Not an argon2 (PHC) string, so no password ever matches it: the user signs in only
// through their linked providers (until a way to set a password exists).
const NO_PASSWORD = "!oidc-only";

/**
 * users.email is required and unique, but an unverified address must not take it: the
 * real owner could then neither register it nor have a verified sign-in link to it (it
 * would link to the squatter's account). Such users get an address in the reserved .invalid
 * TLD (RFC 2606), like service accounts; the claimed one is kept on the link only.
 */
const placeholderEmail = (userId: string) => `oidc-${userId}@users.startales.invalid`;

const EMAIL_TAKEN =
  "An account with this email already exists, and the provider has not verified the email, so it cannot be linked: sign in to that account another way";

const UNVERIFIED_HERE =
  "An account with this email already exists, but its email is not verified yet: sign in to that account another way and verify the email first, then sign in with the provider to link it";

/**
 * Which user an OIDC sign-in is for — the linking rules, in order:
 * 1. the user already linked to this provider's subject;
 * 2. else the user whose email the provider asserts AND says it verified (`email_verified`
 *    true), if that user verified it here too (emailVerifiedAt): the link is made now. Never
 *    a service account (CONFLICT), never an account whose address is unverified here
 *    (CONFLICT: whoever registered it may not own it, and the provider's account would take
 *    over theirs, or theirs the provider's), and never a user already linked to another
 *    subject at this provider (CONFLICT);
 * 3. else a new user: with the email if verified, counted as verified here (and ADMIN if it is a bootstrap admin
 *    email, as register() does), else with a placeholder; CONFLICT instead when an
 *    unverified email belongs to an account, so the person is told to use that account.
 * An unverified email never links: anyone can claim any address at a provider that does
 * not check.
 */
export function createOidcAccounts(deps: { db: Db; bootstrapAdminEmails: string[]; configuredProviders: string[] }) {
  const { db, bootstrapAdminEmails, configuredProviders } = deps;

  const listFor = (userId: string): Promise<LinkedIdentity[]> =>
    db.linkedIdentity.findMany({ where: { userId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });

  const link = (tx: Tx, userId: string, provider: string, claims: ProviderClaims, email: string | undefined) =>
    tx.linkedIdentity.create({ data: { userId, provider, subject: claims.subject, email: email ?? null, emailVerified: claims.emailVerified } });

  return {
    async resolve(tx: Tx, provider: string, claims: ProviderClaims): Promise<{ user: User; outcome: OidcAccountOutcome }> {
      const linked = await tx.linkedIdentity.findUnique({ where: { provider_subject: { provider, subject: claims.subject } }, include: { user: true } });
      if (linked) return { user: linked.user, outcome: "linked_identity" };

      const email = normalizedEmail(claims);
      const verified = email !== undefined && claims.emailVerified;
      const existing = email ? await tx.user.findUnique({ where: { email } }) : null;
      if (existing) {
        if (!verified) throw conflict(EMAIL_TAKEN);
        // Service accounts never sign in; their .invalid address cannot be verified by any honest provider.
        if (existing.roles.includes("SERVICE")) throw conflict("This account cannot sign in with a provider");
        if (!existing.emailVerifiedAt) throw conflict(UNVERIFIED_HERE);
        const current = await tx.linkedIdentity.findUnique({ where: { userId_provider: { userId: existing.id, provider } } });
        // The same subject: a concurrent first sign-in linked it since our lookup above.
        if (current?.subject === claims.subject) return { user: existing, outcome: "linked_identity" };
        if (current) throw conflict("This account is already linked to another account at this provider");
        await link(tx, existing.id, provider, claims, email);
        return { user: existing, outcome: "linked_by_email" };
      }

      const id = randomUUID();
      const roles: Role[] = verified && bootstrapAdminEmails.includes(email) ? ["PLAYER", "ADMIN"] : ["PLAYER"];
      const user = await tx.user.create({
        data: { id, email: verified ? email : placeholderEmail(id), emailVerifiedAt: verified ? new Date() : null, displayName: displayNameFrom(claims), passwordHash: NO_PASSWORD, roles },
      });
      await link(tx, id, provider, claims, email);
      return { user, outcome: "created" };
    },

    listFor,

    /** Removes the user's link to `provider`, unless it is their last way to sign in. Returns what remains. */
    async unlink(userId: string, provider: string): Promise<LinkedIdentity[]> {
      await db.$transaction(async (tx) => {
        // Locks the user's row: two concurrent unlinks of a user's last two links must not
        // both see the other one remaining.
        const users = await tx.$queryRaw<{ password_hash: string }[]>`SELECT password_hash FROM users WHERE id = ${userId}::uuid FOR NO KEY UPDATE`;
        const target = await tx.linkedIdentity.findUnique({ where: { userId_provider: { userId, provider } } });
        if (!users[0] || !target) throw notFound("You have no link to this provider");
        // Links to providers no longer configured are no way in.
        const others = await tx.linkedIdentity.count({ where: { userId, id: { not: target.id }, provider: { in: configuredProviders } } });
        if (!hasPassword(users[0].password_hash) && others === 0) {
          throw conflict("This is your only way to sign in, so it cannot be removed");
        }
        await tx.linkedIdentity.delete({ where: { id: target.id } });
      });
      return listFor(userId);
    },
  };
}

export type OidcAccounts = ReturnType<typeof createOidcAccounts>;

