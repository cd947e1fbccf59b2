import { AI_LATENCY_BUCKETS_MS } from "../ingest/ai-usage";
import type { AnalyticsStore, Bucket } from "../store/analytics-store";
import { histogramQuantile, round } from "./histogram";
import type { AiSeriesArgs, AiUsageArgs } from "./input";
import { bucketGrid } from "./series";

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

export type AiSeries = {
  start: Date;
  bucket: Bucket;
  requests: number[];
  failures: number[];
  cacheHits: number[];
  tokens: number[];
  costUsd: number[];
  p95Ms: (number | null)[];
};

/** AI use per bucket: arrays, one entry per bucket, as a chart takes them; p95 null where no job ran. */
export async function aiSeries(store: AnalyticsStore, args: AiSeriesArgs): Promise<AiSeries> {
  const grid = bucketGrid(args.from, args.to, args.bucket);
  const zeros = () => new Array<number>(grid.count).fill(0);
  const series: AiSeries = { start: grid.start, bucket: args.bucket, requests: zeros(), failures: zeros(), cacheHits: zeros(), tokens: zeros(), costUsd: zeros(), p95Ms: new Array<number | null>(grid.count).fill(null) };
  for (const point of await store.aiSeries(args)) {
    const i = grid.indexOf(point.at);
    series.requests[i] = point.requests;
    series.failures[i] = point.failures;
    series.cacheHits[i] = point.cacheHits;
    series.tokens[i] = point.tokens;
    series.costUsd[i] = point.costMicros / 1_000_000;
    series.p95Ms[i] = round(histogramQuantile(0.95, point.buckets, AI_LATENCY_BUCKETS_MS));
  }
  return series;
}
