// The part of autocannon's API the benchmarks use (it ships no types).
declare module "autocannon" {
  import type { EventEmitter } from "node:events";

  namespace autocannon {
    type Options = {
      url: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      connections?: number;
      duration?: number;
      /** Requests in all, instead of a duration. */
      amount?: number;
      timeout?: number;
      /** Requests per second over all connections (a fixed arrival rate). */
      overallRate?: number;
      requests?: { setupRequest?: (request: Record<string, unknown>) => Record<string, unknown> }[];
    };
    type Histogram = { average: number; p50: number; p90: number; p99: number; max: number; min: number };
    type Result = {
      requests: Histogram & { total: number };
      latency: Histogram & { p97_5: number };
      throughput: Histogram;
      errors: number;
      timeouts: number;
      non2xx: number;
    };
  }
  function autocannon(options: autocannon.Options, callback: (error: Error | null, result: autocannon.Result) => void): EventEmitter & { stop(): void };
  export = autocannon;
}
