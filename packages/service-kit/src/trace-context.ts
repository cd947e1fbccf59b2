import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, createContextKey, propagation, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";

export { SpanKind, type Span };

/*
 * Spans and W3C trace context for the domain code (docs/tracing.md). Everything here is a
 * no-op while tracing is off (no OTEL_EXPORTER_OTLP_ENDPOINT): no span objects, no context
 * switches, `activeTraceparent()` is null, so the hot paths pay one boolean check.
 */

/**
 * The process that recorded a span. A real process also says it as the resource's
 * `service.name`; a test stack runs every service in one process under one tracer provider,
 * where only this attribute tells them apart.
 */
export const SERVICE_ATTRIBUTE = "startales.service";
const TRACER_NAME = "startales";
/** The service of the active span, for spans made by instrumentations (database-spans.ts), which do not know it. */
const SERVICE_KEY = createContextKey("startales.service");

/** The service whose span is active in `parent` (read by the span processor that labels the instrumentations' spans). */
export function serviceOfContext(parent: Context): string | undefined {
  const service = parent.getValue(SERVICE_KEY);
  return typeof service === "string" ? service : undefined;
}

/** The context in which a service's span is active: the span, and the service for the spans under it. */
const activate = (service: string, span: Span): Context => trace.setSpan(context.active(), span).setValue(SERVICE_KEY, service);

let enabled = false;

/** Set by startTracing (tracing.ts) once a tracer provider is registered, cleared at its shutdown. */
export function setTracingEnabled(value: boolean): void {
  enabled = value;
}

export const tracingEnabled = (): boolean => enabled;

/** A span's parent: the active context (default), none (a new trace), or a stored `traceparent`. */
export type SpanParent = { parent?: "active" | "root" | string | null };

export type SpanOptions = SpanParent & { kind?: SpanKind; attributes?: Attributes };

function parentContext(parent: SpanParent["parent"]): Context {
  if (parent === undefined || parent === "active") return context.active();
  if (parent === null || parent === "root") return ROOT_CONTEXT;
  return contextOf(parent);
}

/** The context a stored `traceparent` header value names (the root context when it is not valid). */
export function contextOf(traceparent: string): Context {
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/**
 * Runs `fn` in a new span of `service`, active for everything `fn` awaits; the span ends when
 * `fn` settles and records what it threw. While tracing is off, `fn` runs with no span.
 */
export async function withSpan<T>(service: string, name: string, fn: (span: Span | undefined) => Promise<T> | T, options: SpanOptions = {}): Promise<T> {
  if (!enabled) return fn(undefined);
  const span = trace
    .getTracer(TRACER_NAME)
    .startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: { [SERVICE_ATTRIBUTE]: service, ...options.attributes } }, parentContext(options.parent));
  try {
    return await context.with(activate(service, span), () => fn(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** The synchronous form of withSpan (query planning). */
export function withSpanSync<T>(service: string, name: string, fn: () => T, options: SpanOptions = {}): T {
  if (!enabled) return fn();
  const span = trace
    .getTracer(TRACER_NAME)
    .startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: { [SERVICE_ATTRIBUTE]: service, ...options.attributes } }, parentContext(options.parent));
  try {
    return context.with(activate(service, span), fn);
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * A span for something that already happened (a command applied by a tick), under a stored
 * parent: the work it describes ran elsewhere, so it is recorded with its own start time.
 */
export function recordSpan(service: string, name: string, options: SpanOptions & { startTime: Date; attributes?: Attributes }): void {
  if (!enabled) return;
  trace
    .getTracer(TRACER_NAME)
    .startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, startTime: options.startTime, attributes: { [SERVICE_ATTRIBUTE]: service, ...options.attributes } }, parentContext(options.parent))
    .end();
}

/**
 * Starts a span the caller ends (for work bracketed by two callbacks, like Apollo Server's
 * `validationDidStart` and its end hook); it is not made active. Undefined while tracing is off.
 */
export function startSpan(service: string, name: string, options: SpanOptions = {}): Span | undefined {
  if (!enabled) return undefined;
  return trace
    .getTracer(TRACER_NAME)
    .startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: { [SERVICE_ATTRIBUTE]: service, ...options.attributes } }, parentContext(options.parent));
}

/**
 * Starts a child of the active span, not made active, for a call the caller ends when it
 * settles (a Redis command); undefined while tracing is off or when no span is active, so a
 * client's calls never start traces of their own.
 */
export function startChildSpan(name: string, options: { kind?: SpanKind; attributes?: Attributes } = {}): Span | undefined {
  if (!enabled) return undefined;
  const parent = context.active();
  if (!trace.getSpan(parent)) return undefined;
  return trace.getTracer(TRACER_NAME).startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
}

export function failSpan(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** The active span's `traceparent`, to store with work that continues later (an outbox row, a command, a job); null while tracing is off. */
export function activeTraceparent(): string | null {
  if (!enabled) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** Sets `traceparent` (and `tracestate`) of the active span on outgoing request headers. */
export function injectTraceHeaders(headers: Record<string, string>): void {
  if (enabled) propagation.inject(context.active(), headers);
}

/** Adds attributes to the active span (a request's operation name, once known). */
export function annotateActiveSpan(attributes: Attributes): void {
  if (enabled) trace.getActiveSpan()?.setAttributes(attributes);
}

/** The active span's ids, for log lines; undefined without one. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (!enabled) return undefined;
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
