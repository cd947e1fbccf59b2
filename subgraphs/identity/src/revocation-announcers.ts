import type { Redis } from "ioredis";
import { API_KEY_REVOKED_CHANNEL, announceDeletedAccount, announceRevokedSessions, type Logger } from "@startales/service-kit";
import type { DeletionAnnouncer } from "./domain/account-deletion";
import type { RevocationAnnouncer } from "./domain/api-keys";
import type { SessionsRevokedAnnouncer } from "./domain/password-reset";

// The Redis client queues commands while disconnected and retries forever; an announcement
// must not hang on it. The database already says "revoked" or "deleted"; what a lost
// announcement leaves open is said where each is made.
const PUBLISH_TIMEOUT_MS = 2_000;

async function withinTimeout(work: Promise<unknown>, logger: Logger, lost: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from Redis after ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    logger.warn({ err: error }, lost);
  } finally {
    clearTimeout(timer);
  }
}

/** Publishes a revoked key's hash on the channel every gateway listens to (they evict it at once). */
export function redisRevocationAnnouncer(redis: Redis, logger: Logger): RevocationAnnouncer {
  return (keyHash) =>
    withinTimeout(redis.publish(API_KEY_REVOKED_CHANNEL, keyHash), logger, "could not announce an API key revocation; gateways drop it when their cache expires");
}

/**
 * Records and announces a deleted account until the last access token it may hold expires
 * (`accessTokenTtlMs` from now). Lost, it leaves those tokens good until they expire, as
 * before deletions were announced at all.
 */
export function redisDeletionAnnouncer(redis: Redis, logger: Logger, accessTokenTtlMs: number): DeletionAnnouncer {
  return (userId) =>
    withinTimeout(
      announceDeletedAccount(redis, userId, Date.now() + accessTokenTtlMs),
      logger,
      "could not announce an account deletion; gateways honour its access tokens until they expire",
    );
}

/**
 * Records and announces that the user's access tokens issued before `notBefore` are void,
 * until the last of them expires anyway. Lost, it leaves them good until they expire (the
 * refresh tokens are revoked in the database either way).
 */
export function redisSessionsRevokedAnnouncer(redis: Redis, logger: Logger, accessTokenTtlMs: number): SessionsRevokedAnnouncer {
  return (userId, notBefore) =>
    withinTimeout(
      announceRevokedSessions(redis, { userId, notBefore, until: notBefore * 1000 + accessTokenTtlMs }),
      logger,
      "could not announce ended sign-ins; gateways honour their access tokens until they expire",
    );
}
