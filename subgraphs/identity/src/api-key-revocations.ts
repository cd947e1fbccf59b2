import type { Redis } from "ioredis";
import { API_KEY_REVOKED_CHANNEL, type Logger } from "@startales/service-kit";
import type { RevocationAnnouncer } from "./domain/api-keys";

// The Redis client queues commands while disconnected and retries forever; a revocation must
// not hang on it. The database already says "revoked", and gateways forget the key within
// their cache TTL even if this announcement is lost.
const PUBLISH_TIMEOUT_MS = 2_000;

/** Publishes a revoked key's hash on the channel every gateway listens to (they evict it at once). */
export function redisRevocationAnnouncer(redis: Redis, logger: Logger): RevocationAnnouncer {
  return async (keyHash) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        redis.publish(API_KEY_REVOKED_CHANNEL, keyHash),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer from Redis after ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      logger.warn({ err: error }, "could not announce an API key revocation; gateways drop it when their cache expires");
    } finally {
      clearTimeout(timer);
    }
  };
}
