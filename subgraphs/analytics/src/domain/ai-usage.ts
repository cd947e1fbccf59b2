import { AI_LATENCY_BUCKETS_MS } from "../ingest/ai-usage";
import type { AnalyticsStore } from "../store/analytics-store";
import { histogramQuantile, round } from "./histogram";
import type { AiUsageArgs } from "./input";

export type AiUsage = {
  kind: string;
  deployment: string | null;
  model: string | null;
  requests: number;
  failures: number;
  cacheHits: number;
  cacheHitRate: number;
  failovers: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  p50Ms: number | null;
  p95Ms: number | null;
};

/** AI use per kind, deployment and model: a failure has no deployment (null), the cost in dollars, run-time percentiles from the histogram. */
export async function aiUsage(store: AnalyticsStore, args: AiUsageArgs): Promise<AiUsage[]> {
  const rows = await store.aiUsage(args);
  return rows.map((row) => ({
    kind: row.kind,
    deployment: row.deployment || null,
    model: row.model || null,
    requests: row.requests,
    failures: row.failures,
    cacheHits: row.cacheHits,
    cacheHitRate: row.requests ? row.cacheHits / row.requests : 0,
    failovers: row.failovers,
    promptTokens: row.promptTokens,
    completionTokens: row.completionTokens,
    costUsd: row.costMicros / 1_000_000,
    p50Ms: round(histogramQuantile(0.5, row.buckets, AI_LATENCY_BUCKETS_MS)),
    p95Ms: round(histogramQuantile(0.95, row.buckets, AI_LATENCY_BUCKETS_MS)),
  }));
}

/** AI use per campaign, the costliest first. */
export async function aiUsageByCampaign(store: AnalyticsStore, args: AiUsageArgs) {
  const rows = await store.aiUsageByCampaign(args);
  return rows.map((row) => ({ campaignId: row.campaignId, requests: row.requests, tokens: row.tokens, costUsd: row.costMicros / 1_000_000 }));
}

export type CampaignAiUsagePoint = Awaited<ReturnType<typeof aiUsageByCampaign>>[number];
