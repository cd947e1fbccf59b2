/**
 * A map bounded twice: by entries (the least recently used goes first) and by age (each
 * entry has its own time to live). In-process caches (the gateway's API keys and plans, the
 * subgraphs' campaign access) use it so that no stream of distinct inputs can grow memory
 * without bound.
 */
export type TtlCache<V> = {
  get(key: string): V | undefined;
  set(key: string, value: V, ttlMs: number): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
};

export function createTtlCache<V>(options: { maxEntries: number; now?: () => number }): TtlCache<V> {
  const { maxEntries, now = Date.now } = options;
  // A Map iterates in insertion order: re-inserting on every hit keeps the oldest first.
  const entries = new Map<string, { value: V; expiresAt: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      entries.delete(key);
      if (entry.expiresAt <= now()) return undefined;
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value, ttlMs) {
      entries.delete(key);
      entries.set(key, { value, expiresAt: now() + ttlMs });
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries) break;
        entries.delete(oldest);
      }
    },
    delete: (key) => void entries.delete(key),
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}
