import { OPERATION_LATENCY_BUCKETS_MS } from "@startales/service-kit";
import type { AnalyticsStore, ApiErrorTotals, Bucket } from "../store/analytics-store";
import type { ApiOperationsArgs, ApiSeriesArgs, DeprecatedUsageArgs } from "./input";
import { BUCKET_MS } from "./series";

/**
 * A quantile of a latency histogram, as Prometheus' histogram_quantile estimates it: the
 * bucket where the rank falls, interpolated linearly within it (from 0 for the first). A rank
 * in the last bucket (longer than the last bound) answers that bound: the histogram says no
 * more. Null when nothing was counted.
 */
export function histogramQuantile(q: number, buckets: number[], bounds: readonly number[] = OPERATION_LATENCY_BUCKETS_MS): number | null {
  const total = buckets.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (const [i, count] of buckets.entries()) {
    if (below + count >= rank && count > 0) {
      const upper = bounds[i];
      if (upper === undefined) return bounds.at(-1)!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + ((upper - lower) * (rank - below)) / count;
    }
    below += count;
  }
  return bounds.at(-1)!;
}

export const round = (value: number | null) => (value === null ? null : Math.round(value * 100) / 100);

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
  const size = BUCKET_MS[args.bucket];
  const start = Math.floor(args.from.getTime() / size) * size;
  const buckets = Math.ceil((args.to.getTime() - start) / size);
  const series: ApiSeries = { start: new Date(start), bucket: args.bucket, requests: new Array<number>(buckets).fill(0), errors: new Array<number>(buckets).fill(0), p95Ms: new Array<number | null>(buckets).fill(null) };
  for (const point of await store.apiSeries(args)) {
    const i = Math.floor((point.at.getTime() - start) / size);
    series.requests[i] = point.requests;
    series.errors[i] = point.errors;
    series.p95Ms[i] = round(histogramQuantile(0.95, point.buckets));
  }
  return series;
}

export type DeprecatedFieldUsage = { field: string; clientName: string; clientVersion: string; start: Date; bucket: Bucket; counts: number[]; total: number };

/** Who still uses each deprecated schema element, per bucket: what decides when it may go. */
export async function deprecatedFieldUsage(store: AnalyticsStore, args: DeprecatedUsageArgs): Promise<DeprecatedFieldUsage[]> {
  const size = BUCKET_MS[args.bucket];
  const start = Math.floor(args.from.getTime() / size) * size;
  const buckets = Math.ceil((args.to.getTime() - start) / size);
  const usage: DeprecatedFieldUsage[] = [];
  for (const row of await store.deprecatedUsage(args)) {
    let current = usage.at(-1);
    if (!current || keyOf({ operation: current.field, ...current }) !== keyOf({ operation: row.field, ...row })) {
      current = { field: row.field, clientName: row.clientName, clientVersion: row.clientVersion, start: new Date(start), bucket: args.bucket, counts: new Array<number>(buckets).fill(0), total: 0 };
      usage.push(current);
    }
    current.counts[Math.floor((row.at.getTime() - start) / size)] = row.count;
    current.total += row.count;
  }
  return usage;
}
