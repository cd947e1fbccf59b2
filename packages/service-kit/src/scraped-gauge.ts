import { Gauge } from "prom-client";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";

export type GaugeSample<L extends string> = { labels: Record<L, string>; value: number };

export type ScrapeReadOptions = {
  /** A value read less than this long ago is served again: scrapes (several Prometheus, several gauges) share one read. */
  cacheMs: number;
  /** A scrape waits this long for the read, then answers without it (the read goes on, and the next scrape waits for it). */
  timeoutMs: number;
  /** Told once when reads start failing and once when they work again; nothing in between. */
  logger?: Logger;
  /** What the log lines call the read. */
  what?: string;
  now?: () => number;
};

/**
 * A read of something outside the process (Redis, the database) for /metrics: at most one
 * every `cacheMs` and never two at once, so a hung dependency does not pile reads up and
 * frequent scrapes do not hammer it. Undefined when the read failed or is slower than
 * `timeoutMs`: a gauge then has no samples (Prometheus marks it stale) instead of showing a
 * number that is not true, and the scrape of everything else still succeeds.
 */
export function readOnScrape<T>(read: () => Promise<T>, options: ScrapeReadOptions): () => Promise<T | undefined> {
  const now = options.now ?? Date.now;
  let cached: { value: T; at: number } | undefined;
  let inFlight: Promise<T | undefined> | undefined;
  let failing = false;
  const start = () =>
    read().then(
      (value) => {
        cached = { value, at: now() };
        if (failing) options.logger?.info({ what: options.what }, "metrics read works again");
        failing = false;
        return value;
      },
      (error: unknown) => {
        cached = undefined;
        if (!failing) options.logger?.warn({ err: error, what: options.what }, "metrics read failed; its gauges have no samples until it works");
        failing = true;
        return undefined;
      },
    );
  return async () => {
    if (cached && now() - cached.at < options.cacheMs) return cached.value;
    inFlight ??= start().finally(() => (inFlight = undefined));
    let timer: NodeJS.Timeout | undefined;
    // unref: a scrape still waiting when the process stops does not hold it up.
    const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, options.timeoutMs, undefined).unref()));
    try {
      return await Promise.race([inFlight, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * A gauge whose samples are computed when /metrics is scraped (from `readOnScrape`, usually).
 * Undefined samples (a failed read) leave the gauge without any, not at 0. Label values must
 * be bounded.
 */
export function addScrapedGauge<L extends string = never>(
  metrics: Metrics,
  options: { name: string; help: string; labelNames?: readonly L[]; samples: () => Promise<GaugeSample<L>[] | undefined> },
): Gauge<L> {
  const { samples, labelNames = [], ...rest } = options;
  return new Gauge<L>({
    ...rest,
    labelNames,
    registers: [metrics.registry],
    async collect() {
      const read = await samples();
      this.reset();
      // reset() leaves a gauge without labels at 0; without a read it must have no sample.
      if (read === undefined && labelNames.length === 0) this.remove();
      for (const sample of read ?? []) this.set(sample.labels, sample.value);
    },
  });
}
