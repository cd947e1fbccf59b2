import { addCounter, type Metrics } from "@startales/service-kit";
import { costMicros } from "./domain/cost";
import type { Deployment } from "./domain/deployments";
import type { DriverUsage } from "./drivers/driver";

/**
 * The provider's own series (labels are bounded: kinds, outcomes, configured deployments and
 * their configured models, never the model name a vendor answers with).
 */
export function providerMetrics(metrics: Metrics) {
  return {
    jobs: addCounter(metrics, { name: "provider_jobs_total", help: "Provider jobs finished, by kind, status and whether the cache answered", labelNames: ["kind", "status", "cached"] as const }),
    cache: addCounter(metrics, { name: "provider_cache_lookups_total", help: "Response cache lookups by kind and outcome (memory, redis, miss, bypass)", labelNames: ["kind", "outcome"] as const }),
    calls: addCounter(metrics, { name: "provider_vendor_calls_total", help: "Calls to deployments by outcome (ok, rate_limited, server, timeout, network, client, limited)", labelNames: ["deployment", "outcome"] as const }),
    callSeconds: addCounter(metrics, { name: "provider_vendor_call_seconds_total", help: "Time spent in calls to deployments", labelNames: ["deployment"] as const }),
    requeued: addCounter(metrics, { name: "provider_jobs_requeued_total", help: "Unfinished jobs the sweep queued again because their queue entry was gone or finished", labelNames: [] as const }),
    // Every successful vendor call, billed to a job or not (a run that lost the race to bill still cost it).
    tokens: addCounter(metrics, { name: "provider_vendor_tokens_total", help: "Tokens vendors reported for successful calls, by deployment, model and direction (input, output)", labelNames: ["deployment", "model", "direction"] as const }),
    cost: addCounter(metrics, { name: "provider_vendor_cost_usd_total", help: "What successful vendor calls cost by the deployment's prices, in US dollars", labelNames: ["deployment", "model"] as const }),
  };
}

export type ProviderMetrics = ReturnType<typeof providerMetrics>;

/** A successful call's tokens and, priced as the job that gets it is billed, its cost. */
export function recordUsage(series: ProviderMetrics, deployment: Deployment, usage: DriverUsage): void {
  const labels = { deployment: deployment.name, model: deployment.model };
  series.tokens.inc({ ...labels, direction: "input" }, usage.promptTokens);
  series.tokens.inc({ ...labels, direction: "output" }, usage.completionTokens);
  series.cost.inc(labels, costMicros(deployment, usage) / 1_000_000);
}
