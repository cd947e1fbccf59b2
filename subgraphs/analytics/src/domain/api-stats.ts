import type { AnalyticsStore, ApiErrorTotals, Bucket } from "../store/analytics-store";
import type { ApiOperationsArgs, ApiSeriesArgs, DeprecatedUsageArgs } from "./input";
import { histogramQuantile, round } from "./histogram";
import { bucketGrid } from "./series";

export type ApiOperationStats = {
  operation: string;
  clientName: string;
  clientVersion: string;
  requests: number;
  errors: number;
  errorRate: number;
  errorsByCode: { code: string; count: number }[];
  meanMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
};

const keyOf = (row: { operation: string; clientName: string; clientVersion: string }) => `${row.operation}\n${row.clientName}\n${row.clientVersion}`;

/** Each operation of each client version over the range, the most requested first. */
export async function apiOperations(store: AnalyticsStore, args: ApiOperationsArgs): Promise<ApiOperationStats[]> {
  const [totals, errors] = await Promise.all([store.apiOperations(args), store.apiErrors(args)]);
  const codes = new Map<string, ApiErrorTotals[]>();
  for (const error of errors) codes.set(keyOf(error), [...(codes.get(keyOf(error)) ?? []), error]);
  return totals.map((row) => ({
    operation: row.operation,
    clientName: row.clientName,
    clientVersion: row.clientVersion,
    requests: row.requests,
    errors: row.errors,
    errorRate: row.requests ? row.errors / row.requests : 0,
    errorsByCode: (codes.get(keyOf(row)) ?? []).map(({ code, count }) => ({ code, count })).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
    meanMs: row.requests ? round(row.durationMsSum / row.requests) : null,
    p50Ms: round(histogramQuantile(0.5, row.buckets)),
    p95Ms: round(histogramQuantile(0.95, row.buckets)),
    p99Ms: round(histogramQuantile(0.99, row.buckets)),
  }));
}

export type ApiSeries = { start: Date; bucket: Bucket; requests: number[]; errors: number[]; p95Ms: (number | null)[] };

/** Requests, errors and p95 latency per bucket: arrays, one entry per bucket, as a chart takes them. */
export async function apiSeries(store: AnalyticsStore, args: ApiSeriesArgs): Promise<ApiSeries> {
  const grid = bucketGrid(args.from, args.to, args.bucket);
  const series: ApiSeries = {
    start: grid.start,
    bucket: args.bucket,
    requests: new Array<number>(grid.count).fill(0),
    errors: new Array<number>(grid.count).fill(0),
    p95Ms: new Array<number | null>(grid.count).fill(null),
  };
  for (const point of await store.apiSeries(args)) {
    const i = grid.indexOf(point.at);
    series.requests[i] = point.requests;
    series.errors[i] = point.errors;
    series.p95Ms[i] = round(histogramQuantile(0.95, point.buckets));
  }
  return series;
}

export type DeprecatedFieldUsage = { field: string; clientName: string; clientVersion: string; start: Date; bucket: Bucket; counts: number[]; total: number };

/** Who still uses each deprecated schema element, per bucket: what decides when it may go. */
export async function deprecatedFieldUsage(store: AnalyticsStore, args: DeprecatedUsageArgs): Promise<DeprecatedFieldUsage[]> {
  const grid = bucketGrid(args.from, args.to, args.bucket);
  const usage: DeprecatedFieldUsage[] = [];
  for (const row of await store.deprecatedUsage(args)) {
    let current = usage.at(-1);
    if (!current || current.field !== row.field || current.clientName !== row.clientName || current.clientVersion !== row.clientVersion) {
      current = { field: row.field, clientName: row.clientName, clientVersion: row.clientVersion, start: grid.start, bucket: args.bucket, counts: new Array<number>(grid.count).fill(0), total: 0 };
      usage.push(current);
    }
    current.counts[grid.indexOf(row.at)] = row.count;
    current.total += row.count;
  }
  return usage;
}
