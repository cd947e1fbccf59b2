/**
 * A map bounded twice: by entries (the least recently used goes first) and by age (each
 * entry has its own time to live); with `weigh`, by weight as well (the least recently used
 * go first until the total is within `maxWeight`; a value heavier than that is not kept).
 * In-process caches (the gateway's API keys, plans and kept answers, the subgraphs' campaign
 * access) use it so that no stream of distinct inputs can grow memory without bound.
 */
export type TtlCache<V> = {
  get(key: string): V | undefined;
  set(key: string, value: V, ttlMs: number): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
  /** The sum of the kept values' weights (0 without `weigh`). */
  readonly weight: number;
};

type Entry<V> = { value: V; expiresAt: number; weight: number };

export function createTtlCache<V>(options: { maxEntries: number; now?: () => number; weigh?: (value: V) => number; maxWeight?: number }): TtlCache<V> {
  const { maxEntries, now = Date.now, weigh, maxWeight = Infinity } = options;
  // A Map iterates in insertion order: re-inserting on every hit keeps the oldest first.
  const entries = new Map<string, Entry<V>>();
  let weight = 0;
  const remove = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    weight -= entry.weight;
  };
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      entries.delete(key);
      if (entry.expiresAt <= now()) {
        weight -= entry.weight;
        return undefined;
      }
      entries.set(key, entry);
      return entry.value;
    },
    set(key, value, ttlMs) {
      remove(key);
      const entryWeight = weigh ? weigh(value) : 0;
      if (entryWeight > maxWeight) return;
      entries.set(key, { value, expiresAt: now() + ttlMs, weight: entryWeight });
      weight += entryWeight;
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries && weight <= maxWeight) break;
        remove(oldest);
      }
    },
    delete: remove,
    clear: () => {
      entries.clear();
      weight = 0;
    },
    get size() {
      return entries.size;
    },
    get weight() {
      return weight;
    },
  };
}
