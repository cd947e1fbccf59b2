import { createRemoteJWKSet, errors, jwtVerify } from "jose";
import { ErrorCode, anonymous, parseRoles, requestError, signedIn, type Viewer } from "@startales/service-kit";

export type AccessTokenVerifier = (authorization: string | undefined) => Promise<Viewer>;

/**
 * Verifies `Authorization: Bearer <token>` against identity's JWKS. Keys are cached and
 * refetched only when a token names an unknown `kid` (key rotation), at most every 30 s.
 * No header means anonymous; a bad header is UNAUTHENTICATED (401), never anonymous.
 */
export function createAccessTokenVerifier(options: { jwksUrl: string; issuer: string; audience: string }): AccessTokenVerifier {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5_000 });
  return async (authorization) => {
    if (!authorization) return anonymous;
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization.trim());
    if (!match?.[1]) throw requestError(ErrorCode.UNAUTHENTICATED, "Authorization must be `Bearer <access token>`");
    try {
      const { payload } = await jwtVerify(match[1], jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ["EdDSA"],
        requiredClaims: ["sub", "exp"],
      });
      return signedIn(String(payload.sub), parseRoles(payload.roles));
    } catch (error) {
      if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
        throw requestError(ErrorCode.SERVICE_UNAVAILABLE, "Cannot verify access tokens right now; try again shortly");
      }
      const expired = error instanceof errors.JWTExpired;
      throw requestError(ErrorCode.UNAUTHENTICATED, expired ? "Access token has expired; refresh it" : "Access token is invalid");
    }
  };
}
