import { z } from "zod";
import {
  API_KEY_VERIFY_PATH,
  ErrorCode,
  IDENTITY_HEADER,
  REQUEST_ID_HEADER,
  anonymous,
  createTtlCache,
  hashApiKey,
  isApiKeyFormat,
  parseRoles,
  parseScopes,
  requestError,
  signedIn,
  type Logger,
  type SignedInViewer,
  type Viewer,
} from "@startales/service-kit";

export type ApiKeyVerifier = {
  /** The key's holder, or UNAUTHENTICATED (401) for a key that is malformed, unknown, revoked or expired. */
  verify(key: string, requestId: string): Promise<SignedInViewer>;
  /** Forgets a key (by its hash) at once: identity announced its revocation. */
  evict(keyHash: string): void;
  /** Forgets every key: revocations may have been missed (the announcement channel was down). */
  clear(): void;
};

type Verdict = { valid: true; viewer: SignedInViewer; expiresAt: number | null } | { valid: false };

// Refusals are cached too, briefly, so a client repeating a bad key does not reach identity
// on every request; briefly, because a refusal of a well-formed key is rare and cheap to redo.
const REFUSAL_TTL_MS = 5_000;
// ~200 bytes an entry: a few MB at most, whatever stream of keys arrives.
const MAX_ENTRIES = 10_000;
const LOOKUP_TIMEOUT_MS = 5_000;

const verifiedKey = z.object({
  userId: z.string(),
  roles: z.array(z.string()),
  scopes: z.array(z.string()),
  apiKeyId: z.string(),
  expiresAt: z.string().nullable(),
});

const invalidKey = () => requestError(ErrorCode.UNAUTHENTICATED, "API key is invalid, revoked or expired");
const unavailable = () => requestError(ErrorCode.SERVICE_UNAVAILABLE, "Cannot verify API keys right now; try again shortly");

/**
 * Verifies `X-Api-Key` through identity's internal endpoint (the gateway has no database),
 * caching each answer by the key's hash for `ttlMs` (never past the key's expiry). Identity
 * announces revocations on Redis and the gateway evicts them at once (revocations.ts);
 * the TTL bounds how long a missed announcement, or a change of the owner's roles, lasts.
 */
export function createApiKeyVerifier(options: {
  identityUrl: string;
  ttlMs: number;
  signIdentity: (viewer: Viewer, requestId: string) => Promise<string>;
  logger: Logger;
  now?: () => number;
}): ApiKeyVerifier {
  const { ttlMs, signIdentity, logger, now = Date.now } = options;
  const endpoint = new URL(API_KEY_VERIFY_PATH, options.identityUrl);
  const cache = createTtlCache<Verdict>({ maxEntries: MAX_ENTRIES, now });
  // Concurrent requests with one uncached key share one lookup.
  const inFlight = new Map<string, Promise<Verdict>>();

  async function lookup(key: string, requestId: string): Promise<Verdict> {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          // Identity serves this only to holders of the gateway's signing secret.
          [IDENTITY_HEADER]: await signIdentity(anonymous, requestId),
          [REQUEST_ID_HEADER]: requestId,
        },
        body: JSON.stringify({ key }),
        signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
      });
    } catch (error) {
      logger.warn({ err: error, requestId }, "identity unreachable while verifying an API key");
      throw unavailable();
    }
    if (response.status === 401) return { valid: false };
    const parsed = response.status === 200 ? verifiedKey.safeParse(await response.json().catch(() => null)) : undefined;
    if (!parsed?.success) {
      // 403 here means identity does not trust our signature: a secret mismatch, not a bad key.
      logger.error({ status: response.status, requestId }, "identity did not verify an API key");
      throw unavailable();
    }
    const { userId, roles, scopes, apiKeyId, expiresAt } = parsed.data;
    const viewer = signedIn(userId, parseRoles(roles), { credential: "api_key", scopes: parseScopes(scopes), apiKeyId });
    return { valid: true, viewer, expiresAt: expiresAt === null ? null : Date.parse(expiresAt) };
  }

  function remember(hash: string, verdict: Verdict): void {
    const ttl = verdict.valid ? Math.min(ttlMs, (verdict.expiresAt ?? Infinity) - now()) : Math.min(REFUSAL_TTL_MS, ttlMs);
    if (ttl > 0) cache.set(hash, verdict, ttl);
  }

  return {
    async verify(key, requestId) {
      // Malformed keys are refused here: no lookup, no cache entry.
      if (!isApiKeyFormat(key)) throw invalidKey();
      const hash = hashApiKey(key);
      let verdict = cache.get(hash);
      if (!verdict) {
        let pending = inFlight.get(hash);
        if (!pending) {
          const started = lookup(key, requestId);
          pending = started;
          inFlight.set(hash, started);
          // A revocation that arrives during the lookup removes it from inFlight: its answer
          // (possibly from before the revocation) is then used once but never cached.
          void started.then(
            (answer) => {
              if (inFlight.get(hash) === started) remember(hash, answer);
            },
            () => undefined,
          ).finally(() => {
            if (inFlight.get(hash) === started) inFlight.delete(hash);
          });
        }
        verdict = await pending;
      }
      if (!verdict.valid || (verdict.expiresAt !== null && verdict.expiresAt <= now())) throw invalidKey();
      return verdict.viewer;
    },
    evict(keyHash) {
      cache.delete(keyHash);
      inFlight.delete(keyHash);
    },
    clear() {
      cache.clear();
      inFlight.clear();
    },
  };
}
