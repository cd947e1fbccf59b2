import { randomUUID } from "node:crypto";
import { AuditOutcome, notFound, type AuditContext } from "@startales/service-kit";
import type { Db } from "../db";
import type { User } from "../generated/prisma/client";
import { recordAudit } from "./audit";

// Not an argon2 (PHC) string, so verifying any password against it fails: a service
// account can never sign in and only ever acts through its API keys.
const NO_PASSWORD = "!service-account";

/** Users with the SERVICE role that admins create for other services; they hold API keys. */
export function createServiceAccountService(deps: { db: Db }) {
  const { db } = deps;
  return {
    create(name: string, audit: AuditContext): Promise<User> {
      const id = randomUUID();
      // users.email is required and unique; a service has no mailbox, so it gets an address
      // in the reserved .invalid TLD (RFC 2606) that can never receive mail nor collide.
      const email = `service-${id}@services.startales.invalid`;
      return db.$transaction(async (tx) => {
        const user = await tx.user.create({ data: { id, email, displayName: name, passwordHash: NO_PASSWORD, roles: ["SERVICE"] } });
        await recordAudit(tx, audit, { action: "identity.service_account.create", outcome: AuditOutcome.SUCCESS, targetType: "User", targetId: id });
        return user;
      });
    },

    async require(id: string): Promise<User> {
      const user = await db.user.findUnique({ where: { id } });
      if (!user?.roles.includes("SERVICE")) throw notFound("No service account with this id");
      return user;
    },
  };
}

export type ServiceAccountService = ReturnType<typeof createServiceAccountService>;
