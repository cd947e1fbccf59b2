import { IDENTITY_HEADER, REQUEST_ID_HEADER, SpanKind, TRACEPARENT_HEADER, injectTraceHeaders, tracingEnabled, withSpan } from "@startales/service-kit";
import type { GatewayContext } from "../context";
import type { SubgraphRequest, SubgraphResult } from "./plan-execution";

/** What a subgraph's cache-control says of its answer, as Apollo Server's cache policy takes it. */
export type CacheHint = { maxAge?: number; scope?: "PUBLIC" | "PRIVATE" };

/** The response's cache policy (Apollo Server's), narrowed by each subgraph's cache-control. */
type CachePolicy = { restrict(hint: CacheHint): void };

/**
 * The fetch's scope with a cache policy that also writes down each hint the fetch gives
 * (into `hints`), for a cache that keeps the answer and must replay them when it serves it.
 */
export function recordingHints(scope: FetchScope, hints: CacheHint[]): FetchScope {
  const policy = scope.cachePolicy;
  return {
    ...scope,
    cachePolicy: {
      restrict(hint) {
        hints.push(hint);
        policy?.restrict(hint);
      },
    },
  };
}

/** What one client request's fetches share: who asks, and the response's cache policy to narrow. */
export type FetchScope = { context: GatewayContext; cachePolicy?: CachePolicy };

/**
 * One subgraph fetch as the middlewares see it: they may add headers, wrap `next`, call it
 * again. `received`, when a middleware passes one, gets what the transport read of the
 * subgraph's response headers beyond the body (the answer's versions: versioned-answers.ts).
 */
export type SubgraphCall = { subgraph: string; request: SubgraphRequest; headers: Record<string, string>; scope: FetchScope; received?: { answerVersions?: string } };
export type SubgraphNext = (call: SubgraphCall) => Promise<SubgraphResult>;
/** What surrounds the transport of every fetch (headers, tracing; retries would go here too). */
export type SubgraphMiddleware = (call: SubgraphCall, next: SubgraphNext) => Promise<SubgraphResult>;

/** The chain, built once: the first middleware runs first, the transport last. */
export function composeMiddlewares(middlewares: readonly SubgraphMiddleware[], transport: SubgraphNext): SubgraphNext {
  return middlewares.reduceRight<SubgraphNext>((next, middleware) => (call) => middleware(call, next), transport);
}

/**
 * Who asks and which request it is part of: the gateway-signed identity and the correlation
 * id; and whether the subgraphs must decide access afresh (GatewayContext.revalidate). The client's `traceparent` is passed on as received; with tracing on, traceFetch
 * replaces it with the fetch's own span.
 */
export const propagateHeaders: SubgraphMiddleware = async (call, next) => {
  const { context } = call.scope;
  call.headers[IDENTITY_HEADER] = await context.identityToken();
  call.headers[REQUEST_ID_HEADER] = context.requestId;
  if (context.traceparent) call.headers[TRACEPARENT_HEADER] = context.traceparent;
  if (context.revalidate) call.headers["cache-control"] = "no-cache";
  return next(call);
};

/** A client span per fetch, `fetch <subgraph>`, which the subgraph's server span continues. */
export const traceFetch: SubgraphMiddleware = (call, next) => {
  if (!tracingEnabled()) return next(call);
  return withSpan(
    "gateway",
    `fetch ${call.subgraph}`,
    () => {
      injectTraceHeaders(call.headers);
      return next(call);
    },
    { kind: SpanKind.CLIENT, attributes: { "startales.subgraph": call.subgraph } },
  );
};

/** The gateway's chain: headers first, then the span around the transport. */
export const defaultSubgraphMiddlewares: readonly SubgraphMiddleware[] = [propagateHeaders, traceFetch];
