import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { context, propagation, trace } from "@opentelemetry/api";
import type { Sampler, SpanProcessor } from "@opentelemetry/sdk-trace";
import { z } from "zod";
import { tracePostgres } from "./database-spans";
import { SERVICE_ATTRIBUTE, serviceOfContext, setTracingEnabled } from "./trace-context";

/** How a process decides which new traces to record (the standard OTEL_TRACES_SAMPLER values we support). */
const SAMPLERS = ["parentbased_traceidratio", "traceidratio", "parentbased_always_on", "always_on", "parentbased_always_off", "always_off"] as const;

/**
 * The OpenTelemetry settings, under their standard names, part of every process's config
 * (baseConfigShape). Tracing is off unless an endpoint is set.
 */
export const tracingConfigShape = {
  /** The collector's OTLP/HTTP base URL; traces go to `<it>/v1/traces`. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** The full traces URL, when not `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS).default("parentbased_traceidratio"),
  /** The ratio of new traces recorded by the `*traceidratio` samplers; a sampled caller's traces are always continued. */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
};
export type TracingConfig = z.infer<z.ZodObject<typeof tracingConfigShape>>;

export type Tracing = {
  enabled: boolean;
  /** Exports the spans ended so far (tests, before asserting). */
  flush(): Promise<void>;
  /** Flushes and unregisters the provider; the process is back to no-op tracing. */
  shutdown(): Promise<void>;
};

const OFF: Tracing = { enabled: false, flush: async () => {}, shutdown: async () => {} };
let running: Tracing | undefined;

/**
 * The exporter's connection pool, made here: its default factory loads node:http with a dynamic
 * import(), which jest's module system (the in-process test stacks) cannot run.
 */
const exporterAgents = new Set<HttpAgent>();
const exporterAgent = (protocol: string) => {
  const agent = protocol === "https:" ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  exporterAgents.add(agent);
  return agent;
};

/** Where the exporter posts, or undefined when tracing is off. */
export function tracesEndpoint(config: Pick<TracingConfig, "OTEL_EXPORTER_OTLP_ENDPOINT" | "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT">): string | undefined {
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT) return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`;
  return undefined;
}

async function samplerOf(config: TracingConfig): Promise<Sampler> {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = await import("@opentelemetry/sdk-trace");
  const root = { traceidratio: () => new TraceIdRatioBasedSampler(config.OTEL_TRACES_SAMPLER_ARG), always_on: () => new AlwaysOnSampler(), always_off: () => new AlwaysOffSampler() };
  const name = config.OTEL_TRACES_SAMPLER;
  const base = name.replace(/^parentbased_/, "") as keyof typeof root;
  return name.startsWith("parentbased_") ? new ParentBasedSampler({ root: root[base]() }) : root[base]();
}

/**
 * Gives the spans of database calls (database-spans.ts) the service of the span they run under:
 * in a test stack, the only way to tell which service sent a statement or a command.
 */
const serviceOfParent: SpanProcessor = {
  onStart: (span, parentContext) => {
    if (span.attributes[SERVICE_ATTRIBUTE] !== undefined) return;
    const service = serviceOfContext(parentContext);
    if (service !== undefined) span.setAttribute(SERVICE_ATTRIBUTE, service);
  },
  onEnd: () => {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

/**
 * Starts tracing for this process: the Node SDK with an OTLP/HTTP (JSON) trace exporter, W3C
 * trace context and the configured sampler, and spans for PostgreSQL statements and Redis
 * commands (database-spans.ts). Without an endpoint it does nothing and loads no SDK
 * code. One tracer provider per process: a second call returns the first one's handle, so a
 * test that started tracing for its in-process stack keeps it.
 */
export async function startTracing(service: string, config: TracingConfig, options: { spanProcessors?: SpanProcessor[] } = {}): Promise<Tracing> {
  if (running) return running;
  const url = tracesEndpoint(config);
  if (!url && !options.spanProcessors) return OFF;
  const [{ NodeSDK }, { OTLPTraceExporter }, { BatchSpanProcessor }, { W3CTraceContextPropagator }] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/core"),
  ]);
  const processors = options.spanProcessors ?? [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url, httpAgentOptions: exporterAgent }) })];
  const sdk = new NodeSDK({
    serviceName: service,
    sampler: await samplerOf(config),
    spanProcessors: [serviceOfParent, ...processors],
    textMapPropagator: new W3CTraceContextPropagator(),
    // Traces only: metrics are Prometheus (/metrics) and logs are pino lines.
    metricReaders: [],
    logRecordProcessors: [],
    // No automatic instrumentation: our processes load pg, ioredis and http before tracing
    // starts, too early for require hooks. Our own code makes the spans (trace-context.ts); pg
    // is patched by hand below (database-spans.ts).
    instrumentations: [],
  });
  sdk.start();
  const untracePostgres = await tracePostgres();
  setTracingEnabled(true);
  const handle: Tracing = {
    enabled: true,
    flush: async () => {
      await Promise.all(processors.map((processor) => processor.forceFlush()));
    },
    shutdown: async () => {
      if (running !== handle) return;
      running = undefined;
      setTracingEnabled(false);
      untracePostgres();
      await sdk.shutdown();
      // The SDK leaves its globals registered; drop them so a later start (another test) registers anew.
      trace.disable();
      context.disable();
      propagation.disable();
      // Its idle keep-alive sockets would hold the process open.
      for (const agent of exporterAgents) agent.destroy();
      exporterAgents.clear();
    },
  };
  running = handle;
  return handle;
}
