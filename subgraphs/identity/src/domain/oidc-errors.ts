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

/**
 * Whether openid-client failed to get an answer at all: fetch's network failure (undici's
 * "fetch failed" TypeError) or its request timeout.
 */
export function unreachable(error: unknown): boolean {
  if (error instanceof TypeError && error.message === "fetch failed") return true;
  const code = (error as { code?: unknown } | null)?.code;
  return code === "OAUTH_TIMEOUT" || code === "OAUTH_ABORT";
}

/** The HTTP status of an answer openid-client refused: on its error, or on the response it gives as the cause. */
export function answeredStatus(error: unknown): number | undefined {
  const { status, cause } = (error ?? {}) as { status?: unknown; cause?: unknown };
  if (typeof status === "number") return status;
  return cause instanceof Response ? cause.status : undefined;
}
