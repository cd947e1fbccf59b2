import { auditEntry, type AuditContext, type AuditEvent } from "@startales/service-kit";
import type { Db } from "../db";
import type { Prisma } from "../generated/prisma/client";

/** Appends one entry to identity's audit log, in the caller's transaction when given one. */
export function recordAudit(tx: Prisma.TransactionClient | Db, context: AuditContext, event: AuditEvent) {
  return tx.auditEntry.create({ data: auditEntry(context.viewer, context.requestId, event) });
}

/** Newest first, a page after the entry `after`. */
export function listAudit(db: Db, page: { first: number; after?: string | null; action?: string | null }) {
  return db.auditEntry.findMany({
    where: page.action ? { action: page.action } : {},
    orderBy: [{ occurredAt: "desc" }, { id: "desc" }],
    take: page.first,
    ...(page.after ? { cursor: { id: page.after }, skip: 1 } : {}),
  });
}
