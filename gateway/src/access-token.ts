import { createRemoteJWKSet, errors, jwtVerify } from "jose";
import { Counter, type Registry } from "prom-client";
import { ErrorCode, anonymous, createTtlCache, parseRoles, requestError, signedIn, type SignedInViewer, type Viewer } from "@startales/service-kit";

export type AccessTokenVerifier = ((authorization: string | undefined) => Promise<Viewer>) & {
  /** Who a bearer is when their token was verified before and has not expired; nothing is verified here. */
  kept(authorization: string): SignedInViewer | undefined;
  /** The account was deleted: its tokens are refused until `until` (epoch ms), when the last of them expires anyway. */
  refuseAccount(userId: string, until: number): void;
  /** The account's sign-ins were ended: its tokens issued before `notBefore` (epoch s) are refused until `until` (epoch ms). */
  refuseIssuedBefore(userId: string, notBefore: number, until: number): void;
};

/** Deleted accounts remembered at most: a day's deletions at a large game's pace. */
const MAX_DELETED_ACCOUNTS = 100_000;

/** Verified tokens kept at most (a token is about 500 bytes): more than one replica's players and their refreshes. */
const DEFAULT_MAX_KEPT = 20_000;

/**
 * Verifies `Authorization: Bearer <token>` against identity's JWKS. Keys are cached and
 * refetched only when a token names an unknown `kid` (key rotation), at most every 30 s.
 * No header means anonymous; a bad header is UNAUTHENTICATED (401), never anonymous.
 *
 * A token that verified is kept (by its exact text) until it expires, as Envoy's JWT filter
 * does with its jwt_cache_config: a player sends every request with the same token, and each
 * EdDSA verification ran on libuv's thread pool (jose calls crypto.verify with a callback),
 * a hand-off to another thread on every request, measured at 5 ms before the first subgraph
 * fetch on an idle machine. A kept token is still refused the moment it expires; a refusal is
 * never kept. Tokens are stateless either way: nothing revokes one before its `exp`, except
 * the deletion of its account, which identity announces (revocations.ts).
 */
export function createAccessTokenVerifier(options: {
  jwksUrl: string;
  issuer: string;
  audience: string;
  maxKept?: number;
  now?: () => number;
  registry?: Registry;
}): AccessTokenVerifier {
  const { now = Date.now } = options;
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5_000 });
  const kept = createTtlCache<{ viewer: SignedInViewer; issuedAt: number }>({ maxEntries: options.maxKept ?? DEFAULT_MAX_KEPT, now });
  const verifications = options.registry
    ? new Counter({
        name: "gateway_access_token_verifications_total",
        help: "Access tokens checked, by outcome: verified (signature and claims), kept (verified before, not yet expired), refused",
        labelNames: ["outcome"],
        registers: [options.registry],
      })
    : undefined;
  const deleted = createTtlCache<true>({ maxEntries: MAX_DELETED_ACCOUNTS, now });
  // Per user, the earliest `iat` still honoured after a password reset ended their sign-ins.
  const notBefore = createTtlCache<number>({ maxEntries: MAX_DELETED_ACCOUNTS, now });
  const refusal = (viewer: SignedInViewer, issuedAt: number) => {
    if (deleted.get(viewer.userId)) return "This account was deleted";
    const cutoff = notBefore.get(viewer.userId);
    return cutoff !== undefined && issuedAt < cutoff ? "This sign-in was ended (the password was reset); sign in again" : null;
  };
  const unlessRefused = (viewer: SignedInViewer, issuedAt: number) => {
    const reason = refusal(viewer, issuedAt);
    if (reason) throw requestError(ErrorCode.UNAUTHENTICATED, reason);
    return viewer;
  };
  const bearer = (authorization: string) => /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization.trim())?.[1];
  const keptFor = (token: string) => {
    const known = kept.get(token);
    if (known) verifications?.inc({ outcome: "kept" });
    return known;
  };
  const verify = async (authorization: string | undefined): Promise<Viewer> => {
    if (!authorization) return anonymous;
    const token = bearer(authorization);
    if (!token) throw requestError(ErrorCode.UNAUTHENTICATED, "Authorization must be `Bearer <access token>`");
    const known = keptFor(token);
    if (known) return unlessRefused(known.viewer, known.issuedAt);
    let viewer: SignedInViewer;
    let issuedAt: number;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ["EdDSA"],
        requiredClaims: ["sub", "exp"],
        currentDate: new Date(now()),
      });
      viewer = signedIn(String(payload.sub), parseRoles(payload.roles));
      // Identity always sets iat; a token without one counts as the oldest.
      issuedAt = typeof payload.iat === "number" ? payload.iat : 0;
      // Kept only from when it is valid (a future nbf is checked every time) until its exp.
      const validFor = payload.exp! * 1000 - now();
      if (payload.nbf === undefined && validFor > 0) kept.set(token, { viewer, issuedAt }, validFor);
      verifications?.inc({ outcome: "verified" });
    } catch (error) {
      verifications?.inc({ outcome: "refused" });
      if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
        throw requestError(ErrorCode.SERVICE_UNAVAILABLE, "Cannot verify access tokens right now; try again shortly");
      }
      const expired = error instanceof errors.JWTExpired;
      throw requestError(ErrorCode.UNAUTHENTICATED, expired ? "Access token has expired; refresh it" : "Access token is invalid");
    }
    return unlessRefused(viewer, issuedAt);
  };
  return Object.assign(verify, {
    kept(authorization: string) {
      const token = bearer(authorization);
      const known = token ? keptFor(token) : undefined;
      return known && !refusal(known.viewer, known.issuedAt) ? known.viewer : undefined;
    },
    refuseAccount(userId: string, until: number) {
      if (until > now()) deleted.set(userId, true, until - now());
    },
    refuseIssuedBefore(userId: string, cutoff: number, until: number) {
      // Of several resets, the latest wins: a cutoff only ever moves forward.
      if (until > now()) notBefore.set(userId, Math.max(cutoff, notBefore.get(userId) ?? 0), until - now());
    },
  });
}
