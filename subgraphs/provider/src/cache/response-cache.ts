import { createTtlCache, type Redis } from "@startales/service-kit";
import type { JobKind } from "../domain/deployments";

/** A result as cached: text, or the sha256 of content stored in content_blobs. */
export type CachedResult = {
  text: string | null;
  contentSha: string | null;
  contentType: string | null;
  deployment: string;
  model: string;
};

export type CacheLayer = "memory" | "redis";

/**
 * The exact response cache: L1 an in-process LRU, L2 Redis (shared by every replica of the
 * worker pool), keyed by the request hash, with a TTL per kind. Redis trouble is a miss,
 * never a failed job.
 */
export function createResponseCache(redis: Redis, options: { prefix: string; entries: number; ttlSeconds: Record<JobKind, number> }) {
  const memory = createTtlCache<CachedResult>({ maxEntries: options.entries });
  const key = (hash: string) => `${options.prefix}cache:${hash}`;
  return {
    async get(kind: JobKind, hash: string): Promise<{ result: CachedResult; layer: CacheLayer } | null> {
      const local = memory.get(hash);
      if (local) return { result: local, layer: "memory" };
      try {
        const raw = await redis.get(key(hash));
        if (!raw) return null;
        const result = JSON.parse(raw) as CachedResult;
        memory.set(hash, result, options.ttlSeconds[kind] * 1000);
        return { result, layer: "redis" };
      } catch {
        return null;
      }
    },
    async set(kind: JobKind, hash: string, result: CachedResult): Promise<void> {
      const ttl = options.ttlSeconds[kind];
      memory.set(hash, result, ttl * 1000);
      try {
        await redis.set(key(hash), JSON.stringify(result), "EX", ttl);
      } catch {
        // A cache that cannot be written is only a slower next request.
      }
    },
  };
}

export type ResponseCache = ReturnType<typeof createResponseCache>;
