import type { Redis } from "ioredis";

/**
 * Read models computed once and served many times: a value per key, kept in this process
 * (L1: bounded by entries and by bytes, least recently used first out, each entry for
 * `memoryTtlMs`) and in Redis (L2: `redisTtlSeconds`, shared by every replica), stored
 * serialized. A miss is computed once per process however many requests ask for it at the
 * same time (single flight); the others wait for that one answer.
 *
 * Nothing is ever invalidated in place: a key names the version of the data it was computed
 * from (a campaign's tick, its membership), so a newer version is a new key and the old
 * entries are unreachable, then evicted (L1) or expired (L2). The caller owns the keys: what
 * an answer depends on (the version, the viewer's scope) must be in its key.
 *
 * Written here rather than taken from cache-manager or lru-cache: what it needs is one
 * single flight across both layers, a batch of misses read with one MGET and computed with
 * one query (DataLoader batches stay batches), and the decoded value kept beside its text;
 * those libraries give one layer each, or layers without a shared flight or batches.
 */
export type ReadModelCache = {
  /** The value at `key`: from memory, else from Redis, else `compute()`d (once) and stored in both. */
  read<T>(key: string, compute: () => Promise<T>, codec?: ReadModelCodec<T>): Promise<T>;
  /**
   * The values at `keys`, in order: what neither layer holds is `compute`d in one call (given
   * the keys' indexes, answering in their order), so a batch of misses stays one query.
   */
  readMany<T>(keys: readonly string[], compute: (missing: number[]) => Promise<T[]>, codec?: ReadModelCodec<T>): Promise<T[]>;
  /** The serialized value at `key` (a response body, say), with the same layers and single flight. */
  readText(key: string, compute: () => Promise<string>): Promise<string>;
  /** Hits and misses per layer since the cache was made, for metrics and tests. */
  readonly stats: ReadModelCacheStats;
  /** Entries and bytes held in memory. */
  readonly memory: { entries: number; bytes: number };
};

export type ReadModelCacheStats = { memoryHits: number; redisHits: number; computed: number; redisErrors: number };

/** How a value is stored: `JSON` unless told otherwise. The decoded value is kept beside its text in memory, shared by every reader. */
export type ReadModelCodec<T> = { encode(value: T): string; decode(text: string): T };
const jsonCodec: ReadModelCodec<never> = { encode: (value) => JSON.stringify(value), decode: (text) => JSON.parse(text) as never };
const textCodec: ReadModelCodec<string> = { encode: (text) => text, decode: (text) => text };

export type ReadModelCacheOptions = {
  redis: Redis;
  /** Prefix of every Redis key (a service's own, e.g. `simulation:read:`). */
  prefix: string;
  /** L1 bounds: at most this many entries and about this many bytes (UTF-16 length of the text). */
  maxEntries: number;
  maxBytes: number;
  /** How long an entry serves from memory; versioned keys make it a bound on memory, not on freshness. */
  memoryTtlMs: number;
  /** How long an entry lives in Redis (0: memory only). */
  redisTtlSeconds: number;
  now?: () => number;
};

type Entry = { text: string; value: unknown; expiresAt: number };

export function createReadModelCache(options: ReadModelCacheOptions): ReadModelCache {
  const { redis, prefix, maxEntries, maxBytes, memoryTtlMs, redisTtlSeconds, now = Date.now } = options;
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first.
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Entry>>();
  const stats: ReadModelCacheStats = { memoryHits: 0, redisHits: 0, computed: 0, redisErrors: 0 };
  let bytes = 0;

  const remember = (key: string, entry: Entry) => {
    const earlier = entries.get(key);
    if (earlier) {
      entries.delete(key);
      bytes -= earlier.text.length;
    }
    // A value larger than the whole memory budget is served, not kept.
    if (entry.text.length > maxBytes) return;
    entries.set(key, entry);
    bytes += entry.text.length;
    for (const [oldest, old] of entries) {
      if (entries.size <= maxEntries && bytes <= maxBytes) break;
      entries.delete(oldest);
      bytes -= old.text.length;
    }
  };

  const fromMemory = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    entries.delete(key);
    if (entry.expiresAt <= now()) {
      bytes -= entry.text.length;
      return undefined;
    }
    entries.set(key, entry);
    return entry;
  };

  // Redis is a second layer, not a dependency: when it fails or is away (its offline queue
  // would hold the read until it is back), the value is computed and served.
  const redisUsable = () => redisTtlSeconds > 0 && redis.status === "ready";
  const fromRedis = async (key: string): Promise<string | null> => {
    if (!redisUsable()) return null;
    try {
      return await redis.get(prefix + key);
    } catch {
      stats.redisErrors++;
      return null;
    }
  };
  const toRedis = (key: string, text: string) => {
    if (!redisUsable()) return;
    redis.set(prefix + key, text, "EX", redisTtlSeconds).catch(() => void stats.redisErrors++);
  };

  async function load<T>(key: string, compute: () => Promise<T>, codec: ReadModelCodec<T>): Promise<Entry> {
    const stored = await fromRedis(key);
    if (stored !== null) {
      stats.redisHits++;
      const entry = { text: stored, value: codec.decode(stored), expiresAt: now() + memoryTtlMs };
      remember(key, entry);
      return entry;
    }
    const value = await compute();
    stats.computed++;
    const text = codec.encode(value);
    const entry = { text, value, expiresAt: now() + memoryTtlMs };
    remember(key, entry);
    toRedis(key, text);
    return entry;
  }

  function readEntry<T>(key: string, compute: () => Promise<T>, codec: ReadModelCodec<T>): Promise<Entry> {
    const cached = fromMemory(key);
    if (cached) {
      stats.memoryHits++;
      return Promise.resolve(cached);
    }
    const pending = inFlight.get(key);
    if (pending) return pending;
    const loading = load(key, compute, codec).finally(() => inFlight.delete(key));
    inFlight.set(key, loading);
    return loading;
  }

  /** Redis's copies of `keys` in one round trip (nulls when Redis fails). */
  const manyFromRedis = async (keys: string[]): Promise<(string | null)[]> => {
    if (!redisUsable() || keys.length === 0) return keys.map(() => null);
    try {
      return await redis.mget(keys.map((key) => prefix + key));
    } catch {
      stats.redisErrors++;
      return keys.map(() => null);
    }
  };

  async function readMany<T>(keys: readonly string[], compute: (missing: number[]) => Promise<T[]>, codec: ReadModelCodec<T>): Promise<T[]> {
    const found: (Promise<Entry> | Entry | undefined)[] = keys.map((key) => {
      const cached = fromMemory(key);
      if (cached) stats.memoryHits++;
      return cached ?? inFlight.get(key);
    });
    const missing = keys.flatMap((key, i) => (found[i] === undefined && keys.indexOf(key) === i ? [i] : []));
    if (missing.length > 0) {
      // One flight for the whole batch; each key waits on its own share of it.
      const batch = (async () => {
        const stored = await manyFromRedis(missing.map((i) => keys[i]!));
        const entries = new Map<number, Entry>();
        stored.forEach((text, j) => {
          if (text === null) return;
          stats.redisHits++;
          entries.set(missing[j]!, { text, value: codec.decode(text), expiresAt: now() + memoryTtlMs });
        });
        const toCompute = missing.filter((i) => !entries.has(i));
        if (toCompute.length > 0) {
          const values = await compute(toCompute);
          stats.computed += toCompute.length;
          toCompute.forEach((index, j) => {
            const text = codec.encode(values[j]!);
            entries.set(index, { text, value: values[j], expiresAt: now() + memoryTtlMs });
            toRedis(keys[index]!, text);
          });
        }
        for (const [index, entry] of entries) remember(keys[index]!, entry);
        return entries;
      })();
      for (const index of missing) {
        const key = keys[index]!;
        const share = batch.then((entries) => entries.get(index)!).finally(() => inFlight.delete(key));
        inFlight.set(key, share);
        found[index] = share;
      }
    }
    const entries = await Promise.all(keys.map((key, i) => found[i] ?? inFlight.get(key)!));
    return entries.map((entry) => entry.value as T);
  }

  return {
    readMany: <T>(keys: readonly string[], compute: (missing: number[]) => Promise<T[]>, codec: ReadModelCodec<T> = jsonCodec as ReadModelCodec<T>) =>
      readMany(keys, compute, codec),
    read: async <T>(key: string, compute: () => Promise<T>, codec: ReadModelCodec<T> = jsonCodec as ReadModelCodec<T>) =>
      (await readEntry(key, compute, codec)).value as T,
    readText: async (key, compute) => (await readEntry(key, compute, textCodec)).text,
    stats,
    get memory() {
      return { entries: entries.size, bytes };
    },
  };
}

/** A service's read-model cache settings (README, Environment: READ_CACHE_*). */
export type ReadModelCacheSettings = { READ_CACHE_MEMORY_ENTRIES: number; READ_CACHE_MEMORY_BYTES: number; READ_CACHE_TTL_SECONDS: number };

/**
 * The cache a service's settings describe, under its own Redis prefix. Entries live in memory
 * as long as in Redis (a minute when Redis is off for it: versioned keys make this a bound on
 * memory, not on freshness).
 */
export const readModelCacheFor = (redis: Redis, prefix: string, settings: ReadModelCacheSettings): ReadModelCache =>
  createReadModelCache({
    redis,
    prefix,
    maxEntries: settings.READ_CACHE_MEMORY_ENTRIES,
    maxBytes: settings.READ_CACHE_MEMORY_BYTES,
    memoryTtlMs: (settings.READ_CACHE_TTL_SECONDS || 60) * 1_000,
    redisTtlSeconds: settings.READ_CACHE_TTL_SECONDS,
  });
