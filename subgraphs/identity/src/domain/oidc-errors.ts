/**
 * Why an OIDC sign-in failed, for the log and the audit (never for the client, which gets
 * one message: details would help an attacker probe, and help no honest user).
 */
export class OidcSignInRefused extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "OidcSignInRefused";
  }
}

/** The provider could not be reached, or answered like no OIDC provider should: try again later. */
export class OidcProviderUnavailable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "OidcProviderUnavailable";
  }
}
