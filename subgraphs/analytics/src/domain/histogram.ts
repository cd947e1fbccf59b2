import { OPERATION_LATENCY_BUCKETS_MS, histogramBucket } from "@startales/service-kit";

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


/** A histogram of one value: 1 in its bucket (histogramBucket), 0 in the others and in the one past the last bound. */
export function histogramOf(bounds: readonly number[], value: number): number[] {
  const buckets = new Array<number>(bounds.length + 1).fill(0);
  buckets[histogramBucket(bounds, value)] = 1;
  return buckets;
}
