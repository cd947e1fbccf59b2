import { Redis } from "ioredis";
import { traceRedisCommands } from "./database-spans";
import type { ReadinessCheck } from "./health";

export type { Redis } from "ioredis";

/**
 * A Redis connection; `maxRetriesPerRequest: null` is what BullMQ workers need too. Its commands
 * are traced while tracing is on (database-spans.ts).
 */
export function createRedis(url: string, name: string): Redis {
  const client = new Redis(url, { connectionName: name, maxRetriesPerRequest: null, lazyConnect: false, enableOfflineQueue: true });
  // ioredis throws some errors as 'error' events, which end the process where nothing listens:
  // a reply read after disconnect() emptied the command queue (a reply on its way while a
  // service stops) is one. Each is reported instead, as a JSON line like the services' logs;
  // connection errors were printed anyway, by ioredis itself.
  client.on("error", (error: Error) => {
    if (client.status === "end") return;
    process.stderr.write(`${JSON.stringify({ level: "warn", time: new Date().toISOString(), component: "redis", connection: name, msg: "Redis connection error", err: { message: error.message } })}\n`);
  });
  return traceRedisCommands(client);
}

export const redisReadiness = (redis: Redis): ReadinessCheck => ({ name: "redis", check: () => redis.ping() });
