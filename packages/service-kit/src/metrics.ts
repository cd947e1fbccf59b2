import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The Prometheus registry of one process, with the series every service reports. */
export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const graphqlDuration = new Histogram({
    name: "graphql_request_duration_seconds",
    help: "GraphQL request duration by operation name and type",
    labelNames: ["operation", "type"] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const graphqlErrors = new Counter({
    name: "graphql_errors_total",
    help: "GraphQL errors returned to callers, by error code",
    labelNames: ["code", "operation"] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by route and status",
    labelNames: ["route", "method", "status"] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return { registry, graphqlDuration, graphqlErrors, httpDuration };
}

/**
 * A counter on a process's registry, for series only one service reports (the gateway's
 * client usage), so services need no prom-client of their own. Label values must be bounded.
 */
export function addCounter<L extends string>(metrics: Metrics, options: { name: string; help: string; labelNames: readonly L[] }): Counter<L> {
  return new Counter({ ...options, registers: [metrics.registry] });
}

/**
 * The registry's counter of that name, made on first use: for a counter a process may create
 * more than once (a middleware per gateway app in one test process, a relay started again),
 * one series, never prom-client's "already registered" error.
 */
export function sharedCounter<L extends string>(metrics: Metrics, options: { name: string; help: string; labelNames: readonly L[] }): Counter<L> {
  return (metrics.registry.getSingleMetric(options.name) as Counter<L> | undefined) ?? addCounter(metrics, options);
}

/** A gauge read when /metrics is scraped (a count the process already keeps, never double-booked). */
export function addGauge(metrics: Metrics, options: { name: string; help: string; collect: () => number }): Gauge {
  const { collect, ...rest } = options;
  return new Gauge({
    ...rest,
    registers: [metrics.registry],
    collect() {
      this.set(collect());
    },
  });
}

/** A histogram on a process's registry (a duration or a delay per event). Label values must be bounded. */
export function addHistogram<L extends string = never>(metrics: Metrics, options: { name: string; help: string; buckets: number[]; labelNames?: readonly L[] }): Histogram<L> {
  return new Histogram<L>({ ...options, labelNames: options.labelNames ?? [], registers: [metrics.registry] });
}
