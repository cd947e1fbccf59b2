import { Redis } from "ioredis";
import { traceRedisCommands } from "./database-spans";
import type { ReadinessCheck } from "./health";

export type { Redis } from "ioredis";

/**
 * A Redis connection; `maxRetriesPerRequest: null` is what BullMQ workers need too. Its commands
 * are traced while tracing is on (database-spans.ts).
 */
export function createRedis(url: string, name: string): Redis {
  return traceRedisCommands(new Redis(url, { connectionName: name, maxRetriesPerRequest: null, lazyConnect: false, enableOfflineQueue: true }));
}

export const redisReadiness = (redis: Redis): ReadinessCheck => ({ name: "redis", check: () => redis.ping() });
