import type { Redis } from "@startales/service-kit";

/** A BullMQ queue as it lives in Redis: its keys are `<prefix>:<name>:<part>`. */
export type QueueLocation = { prefix: string; name: string };

// Every BullMQ queue has a `<prefix>:<name>:meta` hash (written by each Queue and by the add
// scripts), so one SCAN finds them all, including queues created after the gateway started.
const META_SUFFIX = ":meta";
const SCAN_BATCH = 1_000;

/**
 * The queue named by a `…:meta` key under one of `prefixes`, if any. BullMQ refuses ":" in
 * queue names, so the name is the one part between the prefix and ":meta", and a key under
 * two nested prefixes ("bull", "provider:bull") belongs to exactly one of them.
 */
export function queueOfMetaKey(key: string, prefixes: readonly string[]): QueueLocation | undefined {
  if (!key.endsWith(META_SUFFIX)) return undefined;
  for (const prefix of prefixes) {
    if (!key.startsWith(`${prefix}:`)) continue;
    const name = key.slice(prefix.length + 1, -META_SUFFIX.length);
    if (name && !name.includes(":")) return { prefix, name };
  }
  return undefined;
}

/**
 * The queues under `prefixes`, by one SCAN of the keyspace (never KEYS: Redis keeps serving
 * the game meanwhile), sorted by prefix and name so the board lists them in a stable order.
 */
export async function discoverQueues(redis: Redis, prefixes: readonly string[]): Promise<QueueLocation[]> {
  const found = new Map<string, QueueLocation>();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `*${META_SUFFIX}`, "COUNT", SCAN_BATCH, "TYPE", "hash");
    for (const key of keys) {
      const queue = queueOfMetaKey(key, prefixes);
      if (queue) found.set(queueKey(queue), queue);
    }
    cursor = next;
  } while (cursor !== "0");
  return [...found.values()].sort((a, b) => a.prefix.localeCompare(b.prefix) || a.name.localeCompare(b.name));
}

/** The queue's full name on the board, unique across prefixes: its Redis namespace. */
export const queueKey = (queue: QueueLocation) => `${queue.prefix}:${queue.name}`;
