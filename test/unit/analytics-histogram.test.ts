import { OPERATION_LATENCY_BUCKETS_MS } from "../../packages/contracts/src";
import { histogramQuantile } from "../../subgraphs/analytics/src/domain/histogram";

/** Counts in the buckets at these upper bounds (ms; Infinity for the last), zero elsewhere. */
const histogram = (counts: Record<number, number>) =>
  [...OPERATION_LATENCY_BUCKETS_MS, Infinity].map((bound) => counts[bound] ?? 0);

describe("latency quantiles from the gateway's histogram", () => {
  it("interpolates within the bucket where the rank falls, from 0 in the first", () => {
    expect(histogramQuantile(0.5, histogram({ 5: 10 }))).toBe(2.5);
    // 10 in ≤10 ms, 10 in (10, 25]: the median is the top of the first, p75 half-way through the second.
    expect(histogramQuantile(0.5, histogram({ 10: 10, 25: 10 }))).toBe(10);
    expect(histogramQuantile(0.75, histogram({ 10: 10, 25: 10 }))).toBe(17.5);
    expect(histogramQuantile(0.99, histogram({ 10: 99, 1000: 1 }))).toBe(10);
    expect(histogramQuantile(1, histogram({ 10: 99, 1000: 1 }))).toBe(1000);
  });

  it("answers the last bound for a rank past it, and nothing for an empty histogram", () => {
    expect(histogramQuantile(0.95, histogram({ [Infinity]: 3 }))).toBe(5000);
    expect(histogramQuantile(0.5, histogram({}))).toBeNull();
  });
});
