import { createMetrics } from "../../packages/service-kit/src/metrics";
import { addScrapedGauge, readOnScrape } from "../../packages/service-kit/src/scraped-gauge";
import { metricValue } from "../testkit/metrics";

/**
 * Gauges read from a dependency when /metrics is scraped: one read per cache period, never two
 * at once, and a read that fails or hangs leaves the gauge without samples (never a made-up 0)
 * while the rest of the scrape succeeds.
 */

/** A read the test answers by hand. */
function manualRead() {
  const calls: { resolve: (value: number) => void; reject: (error: Error) => void }[] = [];
  const read = () => new Promise<number>((resolve, reject) => calls.push({ resolve, reject }));
  return { read, calls };
}

describe("readOnScrape", () => {
  it("reads once per cache period, whatever the number of scrapes", async () => {
    let now = 1_000;
    let reads = 0;
    const value = readOnScrape(async () => ++reads, { cacheMs: 5_000, timeoutMs: 1_000, now: () => now });
    expect(await value()).toBe(1);
    now += 4_999;
    expect(await Promise.all([value(), value()])).toEqual([1, 1]);
    now += 1;
    expect(await value()).toBe(2);
    expect(reads).toBe(2);
  });

  it("never starts a second read while one is in flight, and answers undefined when it is too slow", async () => {
    const { read, calls } = manualRead();
    const value = readOnScrape(read, { cacheMs: 0, timeoutMs: 20 });
    await expect(value()).resolves.toBeUndefined();
    const second = value();
    expect(calls).toHaveLength(1);
    calls[0]!.resolve(7);
    await expect(second).resolves.toBe(7);
  });

  it("answers undefined after a failed read, and reads again at the next scrape", async () => {
    const { read, calls } = manualRead();
    const value = readOnScrape(read, { cacheMs: 60_000, timeoutMs: 1_000 });
    const failed = value();
    calls[0]!.reject(new Error("connection refused"));
    await expect(failed).resolves.toBeUndefined();
    const next = value();
    expect(calls).toHaveLength(2);
    calls[1]!.resolve(3);
    await expect(next).resolves.toBe(3);
  });
});

describe("addScrapedGauge", () => {
  it("exports what the read gives, labelled or not, and nothing at all when the read failed", async () => {
    const metrics = createMetrics("test");
    let answer: number | undefined = 4;
    addScrapedGauge(metrics, { name: "test_plain", help: "h", samples: async () => (answer === undefined ? undefined : [{ labels: {}, value: answer }]) });
    addScrapedGauge(metrics, {
      name: "test_labelled",
      help: "h",
      labelNames: ["queue"] as const,
      samples: async () => (answer === undefined ? undefined : [{ labels: { queue: "a" }, value: answer }, { labels: { queue: "b" }, value: 0 }]),
    });
    let text = await metrics.registry.metrics();
    expect([metricValue(text, "test_plain"), metricValue(text, "test_labelled", { queue: "a" }), metricValue(text, "test_labelled", { queue: "b" })]).toEqual([4, 4, 0]);

    answer = undefined;
    text = await metrics.registry.metrics();
    expect(text).toContain("# TYPE test_plain gauge");
    expect([metricValue(text, "test_plain"), metricValue(text, "test_labelled", { queue: "a" })]).toEqual([undefined, undefined]);
    // The process's other series are still there.
    expect(metricValue(text, "process_cpu_user_seconds_total")).toEqual(expect.any(Number));
  });
});
