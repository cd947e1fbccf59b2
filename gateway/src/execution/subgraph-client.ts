import { STATUS_CODES } from "node:http";
import { parseCacheControlHeader } from "@apollo/gateway/dist/datasources/parseCacheControlHeader";
import { GraphQLError } from "graphql";
import { Agent } from "undici";
import { ANSWER_VERSIONS_HEADER, ErrorCode, UPSTREAM_KEEP_ALIVE_MS, appError } from "@startales/service-kit";
import type { SubgraphRequest, SubgraphResult } from "./plan-execution";
import { composeMiddlewares, defaultSubgraphMiddlewares, type FetchScope, type SubgraphCall, type SubgraphMiddleware } from "./subgraph-middleware";

export type { FetchScope } from "./subgraph-middleware";

type Target = { name: string; url: string; origin: string; path: string };

const isJson = (contentType: unknown) =>
  typeof contentType === "string" && (contentType.startsWith("application/json") || contentType.startsWith("application/graphql-response+json"));

/** A Retry-After in seconds (the delta form subgraphs send), bounded; undefined when absent or not a number. */
function retryAfterSeconds(header: unknown): number | undefined {
  if (typeof header !== "string" || !/^[0-9]{1,6}$/.test(header.trim())) return undefined;
  return Math.min(Number(header), 3600) || undefined;
}

/**
 * The subgraphs over HTTP: one keep-alive connection pool per subgraph (no TCP or HTTP setup
 * per request) through undici's dispatcher API (no web streams, abort signals or Request
 * objects per call), and a deadline per fetch. What every request carries (the gateway-signed
 * identity, the correlation id, the trace context) is added by the middlewares around this
 * transport (subgraph-middleware.ts); `middlewares` run before them (a cache that answers
 * needs no signed identity and makes no fetch span). A subgraph that cannot be reached, times out, stalls its
 * body or answers 5xx becomes SERVICE_UNAVAILABLE for its part of the plan (the client may
 * retry), without naming hosts or ports; other answers are read as @apollo/gateway's
 * RemoteGraphQLDataSource reads them (a 401/403 keeps its code, a non-JSON body is an error).
 */
export function createSubgraphClient(options: { urls: Record<string, string>; connections: number; timeoutMs: number; middlewares?: readonly SubgraphMiddleware[] }) {
  // Subgraphs keep idle sockets longer than UPSTREAM_KEEP_ALIVE_MS (their config enforces it),
  // so the gateway is always the side that closes an idle socket, never mid-request.
  const agent = new Agent({ connections: options.connections, keepAliveTimeout: UPSTREAM_KEEP_ALIVE_MS, keepAliveMaxTimeout: 60_000 });
  const targets = new Map<string, Target>(
    Object.entries(options.urls).map(([name, url]) => {
      const { origin, pathname, search } = new URL(url);
      return [name, { name, url, origin, path: `${pathname}${search}` }];
    }),
  );
  const unavailable = (target: Target, scope: FetchScope, details: Record<string, unknown>, retryAfter?: number) => {
    scope.context.logger.warn({ ...details, subgraph: target.name }, "subgraph unavailable");
    return appError(ErrorCode.SERVICE_UNAVAILABLE, `The ${target.name} service is unavailable; try again shortly`, retryAfter ? { retryAfter } : {});
  };

  async function transport({ subgraph, request, headers, scope, received }: SubgraphCall): Promise<SubgraphResult> {
    const target = targets.get(subgraph)!;
    let status: number;
    let contentType: unknown;
    let cacheControl: unknown;
    let retryAfterHeader: unknown;
    let text: string;
    try {
      const response = await agent.request({
        origin: target.origin,
        path: target.path,
        method: "POST",
        headers,
        body: JSON.stringify(request),
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      status = response.statusCode;
      contentType = response.headers["content-type"];
      cacheControl = response.headers["cache-control"];
      retryAfterHeader = response.headers["retry-after"];
      const answerVersions = response.headers[ANSWER_VERSIONS_HEADER];
      if (received && typeof answerVersions === "string") received.answerVersions = answerVersions;
      text = await response.body.text();
    } catch (error) {
      // A dependency that is down is a warning with its reason; its stack says nothing (docs/logging.md).
      throw unavailable(target, scope, { reason: error instanceof Error ? error.message : String(error) });
    }
    // The subgraph's own estimate of when to come back (a database outage says 5 s) reaches the client.
    if (status >= 500) throw unavailable(target, scope, { status }, retryAfterSeconds(retryAfterHeader));
    let body: unknown = text;
    if (isJson(contentType)) {
      try {
        body = JSON.parse(text);
      } catch (error) {
        // node-fetch's message, which RemoteGraphQLDataSource passes on.
        throw new Error(`invalid json response body at ${target.url} reason: ${(error as Error).message}`);
      }
    }
    if (status < 200 || status >= 300) {
      const statusText = STATUS_CODES[status] ?? "";
      const extensions: Record<string, unknown> = { response: { url: target.url, status, statusText, body } };
      if (status === 401) extensions.code = "UNAUTHENTICATED";
      else if (status === 403) extensions.code = "FORBIDDEN";
      throw new GraphQLError(`${status}: ${statusText}`, { extensions });
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw new Error(`Expected JSON response body, but received: ${String(body)}`);
    if (scope.cachePolicy) {
      // The response is no more cacheable than any part of it (RemoteGraphQLDataSource does the same).
      const parsed = parseCacheControlHeader(typeof cacheControl === "string" ? cacheControl : undefined);
      const maxAge = parsed["max-age"];
      scope.cachePolicy.restrict({
        maxAge: typeof maxAge === "string" && /^[0-9]+$/.test(maxAge) ? Number(maxAge) : 0,
        ...(parsed.private === true ? { scope: "PRIVATE" as const } : {}),
        ...(parsed.public === true ? { scope: "PUBLIC" as const } : {}),
      });
    }
    return body as SubgraphResult;
  }

  const chain = composeMiddlewares([...(options.middlewares ?? []), ...defaultSubgraphMiddlewares], transport);
  function send(serviceName: string, request: SubgraphRequest, scope: FetchScope): Promise<SubgraphResult> {
    if (!targets.has(serviceName)) return Promise.reject(new Error(`Couldn't find service with name "${serviceName}"`));
    return chain({ subgraph: serviceName, request, headers: { "content-type": "application/json" }, scope });
  }

  return { send, close: () => agent.close() };
}

export type SubgraphClient = ReturnType<typeof createSubgraphClient>;
