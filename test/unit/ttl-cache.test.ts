import { createTtlCache } from "@startales/service-kit";

/** The gateway's bounded cache, on a clock the test moves by hand. */
describe("createTtlCache", () => {
  const clock = () => {
    let now = 1_000;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  };

  it("forgets an entry once its own time to live has passed", () => {
    const time = clock();
    const cache = createTtlCache<string>({ maxEntries: 10, now: time.now });
    cache.set("short", "a", 100);
    cache.set("long", "b", 1_000);
    time.advance(99);
    expect(cache.get("short")).toBe("a");
    time.advance(1);
    expect(cache.get("short")).toBeUndefined();
    expect(cache.get("long")).toBe("b");
    expect(cache.size).toBe(1);
  });

  it("holds at most maxEntries, dropping the least recently used", () => {
    const cache = createTtlCache<number>({ maxEntries: 3, now: clock().now });
    cache.set("a", 1, 1_000);
    cache.set("b", 2, 1_000);
    cache.set("c", 3, 1_000);
    expect(cache.get("a")).toBe(1); // now b is the least recently used
    cache.set("d", 4, 1_000);
    expect([cache.get("a"), cache.get("b"), cache.get("c"), cache.get("d")]).toEqual([1, undefined, 3, 4]);
    expect(cache.size).toBe(3);
  });

  it("with a weight, holds at most maxWeight, dropping the least recently used, and keeps nothing heavier", () => {
    const time = clock();
    const cache = createTtlCache<string>({ maxEntries: 100, now: time.now, weigh: (text) => text.length, maxWeight: 10 });
    cache.set("a", "xxxx", 1_000);
    cache.set("b", "yyyy", 1_000);
    expect(cache.get("a")).toBe("xxxx"); // now b is the least recently used
    cache.set("c", "zzz", 1_000);
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual(["xxxx", undefined, "zzz"]);
    expect(cache.weight).toBe(7);
    cache.set("huge", "x".repeat(11), 1_000);
    expect(cache.get("huge")).toBeUndefined();
    expect(cache.weight).toBe(7);
    // Replaced, expired, deleted and cleared entries give their weight back.
    cache.set("a", "xx", 1_000);
    expect(cache.weight).toBe(5);
    time.advance(1_000);
    expect(cache.get("c")).toBeUndefined();
    expect(cache.weight).toBe(2);
    cache.delete("a");
    expect(cache.weight).toBe(0);
    cache.set("d", "dd", 1_000);
    cache.clear();
    expect([cache.size, cache.weight]).toEqual([0, 0]);
  });

  it("replaces an entry's value and lifetime when set again, and deletes and clears on demand", () => {
    const time = clock();
    const cache = createTtlCache<string>({ maxEntries: 10, now: time.now });
    cache.set("k", "old", 10);
    cache.set("k", "new", 1_000);
    time.advance(500);
    expect(cache.get("k")).toBe("new");
    cache.delete("k");
    expect(cache.get("k")).toBeUndefined();
    cache.set("x", "1", 10);
    cache.set("y", "2", 10);
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
