import { decodeJwt } from "jose";
import { ErrorCode, hashApiKey, requestError, type Viewer } from "@startales/service-kit";
import type { AccessTokenVerifier } from "../access-token";
import type { ApiKeyVerifier } from "../api-key";

/** Who holds a socket, and until when: the connection closes when its token expires or its key is revoked. */
export type ConnectionIdentity = { viewer: Viewer; expiresAt: number | null; apiKeyHash: string | null };

/** A connection_init payload's credential, by the names of the HTTP headers (any case). */
function credential(payload: Record<string, unknown>, name: string): string | undefined {
  const entry = Object.entries(payload).find(([key]) => key.toLowerCase() === name);
  return typeof entry?.[1] === "string" ? entry[1] : undefined;
}

/**
 * The WebSocket twin of authenticate.ts: `connection_init` carries what HTTP requests carry
 * in headers, `{ "authorization": "Bearer <access token>" }` or `{ "x-api-key": "<key>" }`
 * (browsers cannot set headers on a WebSocket). Neither: an anonymous connection, which may
 * run public queries but no subscription (they all need a signed-in caller). Both: refused.
 */
export function createConnectionAuthenticator(deps: { verifyAccessToken: AccessTokenVerifier; apiKeys: ApiKeyVerifier }) {
  return async (payload: Record<string, unknown>, requestId: string): Promise<ConnectionIdentity> => {
    const authorization = credential(payload, "authorization");
    const apiKey = credential(payload, "x-api-key")?.trim();
    if (authorization && apiKey) throw requestError(ErrorCode.BAD_USER_INPUT, "Send either authorization or x-api-key, not both");
    if (apiKey) return { viewer: await deps.apiKeys.verify(apiKey, requestId), expiresAt: null, apiKeyHash: hashApiKey(apiKey) };
    const viewer = await deps.verifyAccessToken(authorization);
    // Verified just above: decoding only reads its expiry.
    const exp = viewer.kind === "user" && authorization ? decodeJwt(authorization.trim().slice("Bearer ".length)).exp : undefined;
    return { viewer, expiresAt: typeof exp === "number" ? exp * 1000 : null, apiKeyHash: null };
  };
}

export type ConnectionAuthenticator = ReturnType<typeof createConnectionAuthenticator>;
