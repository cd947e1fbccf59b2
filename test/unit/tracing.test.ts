import { Writable } from "node:stream";
import {
  activeTraceparent,
  createLogger,
  startTracing,
  tracesEndpoint,
  tracingEnabled,
  withSpan,
  type Tracing,
} from "@startales/service-kit";
import { startOtlpReceiver } from "../testkit/otlp-receiver";

/** Log lines a logger wrote, parsed. */
function captured() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(JSON.parse(chunk.toString("utf8"))), done()) });
  return { lines, logger: createLogger("test", "info", stream as never) };
}

/** Ended spans, kept in memory (the SDK's SpanProcessor interface, structurally). */
function memoryProcessor() {
  const ended: { name: string; traceId: string; parentSpanId?: string }[] = [];
  return {
    ended,
    processor: {
      onStart: () => {},
      onEnd: (span: { name: string; spanContext(): { traceId: string }; parentSpanContext?: { spanId: string } }) =>
        void ended.push({ name: span.name, traceId: span.spanContext().traceId, parentSpanId: span.parentSpanContext?.spanId }),
      forceFlush: async () => {},
      shutdown: async () => {},
    },
  };
}

describe("tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)", () => {
  it("exports nothing and creates no spans on the hot path", async () => {
    const receiver = await startOtlpReceiver();
    try {
      const tracing = await startTracing("test", { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: 1 });
      expect(tracing.enabled).toBe(false);
      expect(tracingEnabled()).toBe(false);
      const { lines, logger } = captured();
      const seen = await withSpan("test", "work", async (span) => {
        logger.info("inside");
        return { span, traceparent: activeTraceparent() };
      });
      expect(seen).toEqual({ span: undefined, traceparent: null });
      expect(lines[0]).not.toHaveProperty("trace_id");
      await tracing.flush();
      expect(receiver.requests).toBe(0);
    } finally {
      await receiver.stop();
    }
  });

  it("derives the traces URL from the standard variables", () => {
    expect(tracesEndpoint({})).toBeUndefined();
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toBe("http://collector:4318/v1/traces");
    expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:4318/traces" })).toBe("http://b:4318/traces");
  });
});

describe("tracing on", () => {
  let tracing: Tracing;
  const memory = memoryProcessor();
  beforeAll(async () => {
    tracing = await startTracing("test", { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: 1 }, { spanProcessors: [memory.processor as never] });
  });
  afterAll(() => tracing.shutdown());

  it("log lines inside a span carry its trace id; a stored traceparent is continued later", async () => {
    const { lines, logger } = captured();
    const stored = await withSpan("test", "request", async () => {
      logger.info("inside");
      return activeTraceparent();
    });
    const [, traceId, spanId] = stored!.split("-");
    expect(lines[0]).toMatchObject({ trace_id: traceId, span_id: spanId });
    await withSpan("test", "job", async () => undefined, { parent: stored });
    expect(memory.ended.find((span) => span.name === "job")).toMatchObject({ traceId, parentSpanId: spanId });
  });
});
