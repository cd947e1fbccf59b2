import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { GraphQLError } from "graphql";
import { ConfigError, defaultHttpTimeouts, type HttpTimeouts } from "./config";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { databaseOutageReason, databaseUnavailable, warnDatabaseOutage } from "./database-outage";
import { maskError } from "./errors";
import { runReadinessChecks, type ReadinessCheck } from "./health";
import { exportCertificateExpiry } from "./certificate-metrics";
import { exportReadiness } from "./readiness-metrics";
import { httpStatusOf, logFailure } from "./log-levels";
import { SpanKind, tracingEnabled, withSpan } from "./trace-context";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export type HttpServerOptions = {
  logger: Logger;
  metrics: Metrics;
  readiness: ReadinessCheck[];
  /** Exact-path GET routes besides the health and metrics ones. */
  routes?: Record<string, RouteHandler>;
  /** Exact-path POST routes for internal service-to-service calls; each checks its own caller. */
  postRoutes?: Record<string, RouteHandler>;
  /** GET routes by path prefix (e.g. "/content/" for content-addressed files), after the exact ones. */
  prefixRoutes?: Record<string, RouteHandler>;
  /** Routes by path prefix for every method (a protocol of its own: content's resumable uploads, tus), before all others. */
  protocolRoutes?: Record<string, RouteHandler>;
  /** Everything else (the GraphQL endpoint). */
  fallback: RouteHandler;
  /** From the config (baseConfigShape); its defaults when absent. */
  timeouts?: HttpTimeouts;
  /** PEM certificate chain and key: serve HTTPS (and, later, WSS) instead of plain HTTP. */
  tls?: { cert: Buffer; key: Buffer };
  /** The service's name: with tracing on, each request but health and metrics gets a server span of it. */
  service?: string;
};

export type HttpService = {
  server: Server;
  listen(port: number, host: string): Promise<string>;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes. */
  close(graceMs: number): Promise<void>;
};

/** A request header's value; a repeated header counts by its first value. */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Routes that are metrics labels; any other path is counted as "other" to bound cardinality. */
const KNOWN_ROUTES = new Set(["/graphql", "/health/live", "/health/ready", "/metrics"]);
/** How a handler's throw is logged, by whose failure it is (log-levels.ts). */
const HANDLER_FAILURE = { client: "request refused", dependency: "request answered without a dependency", server: "unhandled error in HTTP handler" };
/** Probes and scrapes: frequent, and no one's request, so never traced. */
const UNTRACED_ROUTES = new Set(["/health/live", "/health/ready", "/metrics"]);

export function createHttpService(options: HttpServerOptions): HttpService {
  const { logger, metrics, readiness, routes = {}, postRoutes = {}, prefixRoutes = {}, protocolRoutes = {}, fallback } = options;
  const prefixOf = (path: string) => Object.keys(prefixRoutes).find((prefix) => path.startsWith(prefix));
  // A protocol's prefix matches itself and what is under it (`/content/uploads`, `/content/uploads/<id>`).
  const protocolOf = (path: string) => Object.keys(protocolRoutes).find((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  exportReadiness(metrics, readiness);
  exportCertificateExpiry(metrics, options.tls?.cert);
  let draining = false;
  const getRoutes: Record<string, RouteHandler> = {
    "/health/live": (_req, res) => sendJson(res, 200, { status: "ok" }),
    "/health/ready": async (_req, res) => {
      if (draining) return sendJson(res, 503, { ready: false, checks: { shutdown: "draining" } });
      const report = await runReadinessChecks(readiness);
      sendJson(res, report.ready ? 200 : 503, report);
    },
    "/metrics": async (_req, res) => {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { "content-type": metrics.registry.contentType });
      res.end(body);
    },
    ...routes,
  };

  const timeouts = options.timeouts ?? defaultHttpTimeouts();
  if (timeouts.HTTP_HEADERS_TIMEOUT_MS > timeouts.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError([{ variable: "HTTP_HEADERS_TIMEOUT_MS", message: "must not be longer than HTTP_REQUEST_TIMEOUT_MS" }]);
  }
  const serverOptions = {
    headersTimeout: timeouts.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeout: timeouts.HTTP_REQUEST_TIMEOUT_MS,
    // Node enforces the two timeouts above only when it sweeps its connections, every 30 s by
    // default: a slow client could outstay its deadline by that much.
    connectionsCheckingInterval: Math.min(1_000, timeouts.HTTP_HEADERS_TIMEOUT_MS),
  };
  const inFlight = new Set<ServerResponse>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    inFlight.add(res);
    if (draining) res.setHeader("connection", "close");
    res.on("close", () => inFlight.delete(res));
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = KNOWN_ROUTES.has(path) || path in routes || path in postRoutes ? path : (protocolOf(path) ?? prefixOf(path) ?? "other");
      metrics.httpDuration.observe({ route, method: req.method ?? "GET", status: String(res.statusCode) }, seconds);
    });
    try {
      // A HEAD is a GET whose body Node leaves out: a prefix route (content) answers both.
      const read = req.method === "GET" || req.method === "HEAD";
      const protocol = protocolOf(path);
      const prefix = protocol ?? (read && !getRoutes[path] ? prefixOf(path) : undefined);
      const handler = protocol
        ? protocolRoutes[protocol]
        : req.method === "GET"
          ? (getRoutes[path] ?? (prefix ? prefixRoutes[prefix] : undefined))
          : req.method === "HEAD" && prefix
            ? prefixRoutes[prefix]
            : req.method === "POST"
              ? postRoutes[path]
              : undefined;
      if (options.service && tracingEnabled() && !UNTRACED_ROUTES.has(path)) {
        // Continues the caller's trace (the gateway's fetch span, or a client's traceparent).
        const route = KNOWN_ROUTES.has(path) || path in routes || path in postRoutes ? path : (prefix ?? "other");
        await withSpan(
          options.service,
          `${req.method ?? "GET"} ${route}`,
          async (span) => {
            await (handler ?? fallback)(req, res);
            span?.setAttribute("http.response.status_code", res.statusCode);
          },
          { kind: SpanKind.SERVER, parent: headerValue(req, "traceparent") ?? "root", attributes: { "http.request.method": req.method ?? "GET", "http.route": route } },
        );
      } else {
        await (handler ?? fallback)(req, res);
      }
    } catch (error) {
      const outage = databaseOutageReason(error);
      if (outage === undefined) logFailure(logger, error, { path }, HANDLER_FAILURE);
      else warnDatabaseOutage(logger, outage, { path });
      if (res.headersSent) return void res.destroy();
      if (outage !== undefined) {
        const { message, extensions } = databaseUnavailable();
        return sendJson(res, 503, { errors: [{ message, extensions }] }, { "retry-after": String(extensions.retryAfter) });
      }
      // A handler may refuse by throwing one of our errors (errors.ts): its status, code and
      // public message; anything else is masked as a 500.
      const body = maskError(error instanceof GraphQLError ? error.toJSON() : { message: String(error) });
      const retryAfter = body.extensions?.retryAfter;
      sendJson(res, httpStatusOf(error), { errors: [body] }, typeof retryAfter === "number" ? { "retry-after": String(retryAfter) } : {});
    }
  };
  // An https.Server is an http.Server over TLS: the same request, timeout and close API.
  const server: Server = options.tls
    ? (createTlsServer({ ...serverOptions, ...options.tls }, handle) as unknown as Server)
    : createServer(serverOptions, handle);
  const scheme = options.tls ? "https" : "http";
  server.keepAliveTimeout = timeouts.HTTP_KEEP_ALIVE_TIMEOUT_MS;

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
          resolve(`${scheme}://${shownHost}:${address.port}`);
        });
      }),
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        draining = true;
        if (!server.listening) return resolve();
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        // Keep-alive clients would otherwise hold their connections (and so the process)
        // until the grace period ends: idle ones close now, busy ones after their answer.
        server.closeIdleConnections();
        for (const res of inFlight) {
          if (!res.headersSent) res.setHeader("connection", "close");
          // Already answering with keep-alive: close the connection once it falls idle.
          else res.once("finish", () => setImmediate(() => server.closeIdleConnections()));
        }
      }),
  };
}
