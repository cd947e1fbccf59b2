import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import { OidcProviderUnavailable } from "./oidc-errors";
import type { PendingSignIn } from "./oidc-authorization-request";

const KEY_PREFIX = "oidc:pending:";
// The Redis client queues commands while disconnected; a sign-in must fail, not hang.
const REDIS_TIMEOUT_MS = 2_000;

const pendingSchema = z.object({ provider: z.string(), redirectUri: z.string(), codeVerifier: z.string(), nonce: z.string() });

/** Stored under the state's hash, so whoever reads Redis cannot complete a sign-in with a key name. */
export const pendingSignInKey = (state: string) => `${KEY_PREFIX}${createHash("sha256").update(state).digest("base64url")}`;

function withTimeout<T>(operation: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    operation,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OidcProviderUnavailable("no answer from Redis")), REDIS_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Pending OIDC sign-ins in Redis, shared by every identity replica: the user may come back
 * to any of them. Each expires on its own (the TTL) and is taken once (GETDEL), so a state
 * and its verifier can never be replayed, whether the first attempt succeeded or not.
 */
export function createOidcStateStore(redis: Redis, ttlSeconds: number) {
  return {
    async save(state: string, pending: PendingSignIn): Promise<Date> {
      await withTimeout(redis.set(pendingSignInKey(state), JSON.stringify(pending), "EX", ttlSeconds));
      return new Date(Date.now() + ttlSeconds * 1000);
    },
    /** The pending sign-in, removed; null when it is unknown, expired or already taken. */
    async take(state: string): Promise<PendingSignIn | null> {
      const stored = await withTimeout(redis.getdel(pendingSignInKey(state)));
      if (!stored) return null;
      const parsed = pendingSchema.safeParse(JSON.parse(stored));
      return parsed.success ? parsed.data : null;
    },
  };
}

export type OidcStateStore = ReturnType<typeof createOidcStateStore>;
