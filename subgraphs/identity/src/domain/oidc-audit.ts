import type { Logger } from "@startales/service-kit";
import type { OidcAccountOutcome } from "./oidc-accounts";

export type OidcSignInEvent =
  | { outcome: "succeeded"; provider: string; userId: string; account: OidcAccountOutcome }
  | { outcome: "failed"; provider?: string; reason: string };

/**
 * The one place where every OIDC sign-in, successful or not, is recorded. For now that is a
 * log line; the audit log will be written from here. Events carry no email, no provider
 * subject and no token: the user id and our own reason are enough to investigate.
 */
export function recordOidcSignIn(logger: Logger, event: OidcSignInEvent): void {
  if (event.outcome === "succeeded") logger.info({ event: "oidc_sign_in", ...event }, "OIDC sign-in succeeded");
  else logger.warn({ event: "oidc_sign_in", ...event }, "OIDC sign-in failed");
}
