import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { runReadinessChecks, type ReadinessCheck } from "./health";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export type HttpServerOptions = {
  logger: Logger;
  metrics: Metrics;
  readiness: ReadinessCheck[];
  /** Exact-path GET routes besides the health and metrics ones. */
  routes?: Record<string, RouteHandler>;
  /** Everything else (the GraphQL endpoint). */
  fallback: RouteHandler;
};

export type HttpService = {
  server: Server;
  listen(port: number, host: string): Promise<string>;
  /** Stops accepting, lets in-flight requests finish within the grace period, then closes. */
  close(graceMs: number): Promise<void>;
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Routes that are metrics labels; any other path is counted as "other" to bound cardinality. */
const KNOWN_ROUTES = new Set(["/graphql", "/health/live", "/health/ready", "/metrics"]);

export function createHttpService(options: HttpServerOptions): HttpService {
  const { logger, metrics, readiness, routes = {}, fallback } = options;
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

  const server = createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    res.on("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = KNOWN_ROUTES.has(path) || path in routes ? path : "other";
      metrics.httpDuration.observe({ route, method: req.method ?? "GET", status: String(res.statusCode) }, seconds);
    });
    try {
      const handler = req.method === "GET" ? getRoutes[path] : undefined;
      await (handler ?? fallback)(req, res);
    } catch (error) {
      logger.error({ err: error, path }, "unhandled error in HTTP handler");
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } }] });
      else res.destroy();
    }
  });
  // Longer than the gateway's keep-alive so an idle upstream socket is never closed under a
  // request that is being sent on it; bounded header and request times against slow clients.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 60_000;

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
          resolve(`http://${shownHost}:${address.port}`);
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
        server.closeIdleConnections();
      }),
  };
}
