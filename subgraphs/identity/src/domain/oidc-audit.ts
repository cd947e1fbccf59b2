import { AuditOutcome, type AuditContext, type Logger } from "@startales/service-kit";
import type { Db } from "../db";
import type { Prisma } from "../generated/prisma/client";
import { recordAudit } from "./audit";
import type { OidcAccountOutcome } from "./oidc-accounts";

export type OidcSignInEvent =
  | { outcome: "succeeded"; provider: string; userId: string; account: OidcAccountOutcome }
  | { outcome: "failed"; provider?: string; reason: string };

/**
 * The one place where every OIDC sign-in, successful or not, is recorded: a log line and an
 * audit entry ("identity.oidc_sign_in"; no actor, the caller was not signed in; the target
 * is the user signed in). Events carry no email, no provider subject and no token: the user
 * id and our own reason are enough to investigate. A success is recorded in the sign-in's
 * transaction (`tx`).
 */
export async function recordOidcSignIn(
  tx: Prisma.TransactionClient | Db,
  audit: AuditContext,
  logger: Logger,
  event: OidcSignInEvent,
): Promise<void> {
  if (event.outcome === "succeeded") logger.info({ event: "oidc_sign_in", ...event }, "OIDC sign-in succeeded");
  else logger.warn({ event: "oidc_sign_in", ...event }, "OIDC sign-in failed");
  const { outcome, ...details } = event;
  await recordAudit(tx, audit, {
    action: "identity.oidc_sign_in",
    outcome: outcome === "succeeded" ? AuditOutcome.SUCCESS : AuditOutcome.FAILURE,
    targetType: "User",
    targetId: event.outcome === "succeeded" ? event.userId : null,
    details,
  });
}
