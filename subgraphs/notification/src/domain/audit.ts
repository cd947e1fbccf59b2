import { auditEntry, type AuditContext, type AuditEvent } from "@startales/service-kit";
import type { Db } from "../db";
import type { Prisma } from "../generated/prisma/client";

/** Appends one entry to notification's audit log, in the caller's transaction when given one. */
export function recordAudit(tx: Prisma.TransactionClient | Db, context: AuditContext, event: AuditEvent) {
  return tx.auditEntry.create({ data: auditEntry(context.viewer, context.requestId, event) });
}
