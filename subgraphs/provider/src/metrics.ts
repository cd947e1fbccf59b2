import { addCounter, type Metrics } from "@startales/service-kit";

/** The provider's own series (labels are bounded: kinds, outcomes, configured deployments). */
export function providerMetrics(metrics: Metrics) {
  return {
    jobs: addCounter(metrics, { name: "provider_jobs_total", help: "Provider jobs finished, by kind, status and whether the cache answered", labelNames: ["kind", "status", "cached"] as const }),
    cache: addCounter(metrics, { name: "provider_cache_lookups_total", help: "Response cache lookups by kind and outcome (memory, redis, miss, bypass)", labelNames: ["kind", "outcome"] as const }),
    calls: addCounter(metrics, { name: "provider_vendor_calls_total", help: "Calls to deployments by outcome (ok, rate_limited, server, timeout, network, client, limited)", labelNames: ["deployment", "outcome"] as const }),
    callSeconds: addCounter(metrics, { name: "provider_vendor_call_seconds_total", help: "Time spent in calls to deployments", labelNames: ["deployment"] as const }),
    requeued: addCounter(metrics, { name: "provider_jobs_requeued_total", help: "Unfinished jobs the sweep queued again because their queue entry was gone or finished", labelNames: [] as const }),
  };
}
