import type { Registry } from "prom-client";
import { runReadinessChecks, type ReadinessCheck } from "./health";
import type { Metrics } from "./metrics";
import { addScrapedGauge, readOnScrape } from "./scraped-gauge";

/** The checks each registry's gauge runs: a process may serve several listeners, each with its own. */
const checksOf = new WeakMap<Registry, ReadinessCheck[]>();

/**
 * `dependency_up{dependency}`: 1 while the readiness check of that name passes (database,
 * redis, supergraph…), 0 while it fails. The checks run when /metrics is scraped (at most
 * every 5 s), not only when something probes /health/ready, so a process that nobody
 * probes still says which dependency it lost.
 */
export function exportReadiness(metrics: Metrics, checks: readonly ReadinessCheck[], options: { cacheMs?: number } = {}): void {
  if (checks.length === 0) return;
  const known = checksOf.get(metrics.registry);
  if (known) {
    known.push(...checks.filter((c) => !known.some((k) => k.name === c.name)));
    return;
  }
  const all = [...checks];
  checksOf.set(metrics.registry, all);
  // Each check gives up after its own 2 s; the scrape waits a little longer than that.
  const report = readOnScrape(() => runReadinessChecks(all), { cacheMs: options.cacheMs ?? 5_000, timeoutMs: 3_000 });
  addScrapedGauge(metrics, {
    name: "dependency_up",
    help: "Whether the readiness check of a dependency passes (1) or fails (0), by check name",
    labelNames: ["dependency"] as const,
    samples: async () => {
      const checked = await report();
      return checked && Object.entries(checked.checks).map(([dependency, status]) => ({ labels: { dependency }, value: status === "ok" ? 1 : 0 }));
    },
  });
}
