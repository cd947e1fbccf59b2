import { AuditOutcome, type AuditContext } from "@startales/service-kit";
import type { Db } from "../db";
import type { Role } from "../generated/prisma/client";
import { recordAudit } from "./audit";

export type GrantAdminResult =
  | { outcome: "granted" | "already"; user: { id: string; email: string; displayName: string }; from: Role[]; to: Role[] }
  | { outcome: "no_account" };

/**
 * Gives the account with `email` the ADMIN role, for an operator who has no admin yet to call
 * setUserRoles (scripts/admin.ts). Recorded like setUserRoles (`identity.roles.set`, from/to),
 * in the same transaction, with `details.via` naming where it came from. An account that is
 * already an admin is left alone and nothing is recorded.
 */
export async function grantAdmin(db: Db, email: string, audit: AuditContext & { via: string }): Promise<GrantAdminResult> {
  const normalized = email.trim().toLowerCase();
  return db.$transaction(async (tx) => {
    // Locked, so `from` in the audit entry is what this change replaced.
    const [locked] = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM users WHERE email = ${normalized} FOR UPDATE`;
    if (!locked) return { outcome: "no_account" } as const;
    const before = await tx.user.findUniqueOrThrow({ where: { id: locked.id }, select: { id: true, email: true, displayName: true, roles: true } });
    const user = { id: before.id, email: before.email, displayName: before.displayName };
    if (before.roles.includes("ADMIN")) return { outcome: "already", user, from: before.roles, to: before.roles } as const;
    const { roles } = await tx.user.update({ where: { id: before.id }, data: { roles: [...before.roles, "ADMIN"] }, select: { roles: true } });
    await recordAudit(tx, audit, {
      action: "identity.roles.set",
      outcome: AuditOutcome.SUCCESS,
      targetType: "User",
      targetId: before.id,
      details: { from: before.roles, to: roles, via: audit.via },
    });
    return { outcome: "granted", user, from: before.roles, to: roles } as const;
  });
}
