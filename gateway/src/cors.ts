import type { IncomingMessage, ServerResponse } from "node:http";
import cors from "cors";
import { z } from "zod";
import { ErrorCode, headerValue, sendJson, type RouteHandler } from "@startales/service-kit";

/**
 * An allowed origin: `scheme://host[:port]`, exactly as a browser sends it in `Origin`, or
 * a pattern with `*.` before the host (any subdomain, not the domain itself) and/or `:*`
 * for the port (any port, or none). No bare `*`: the origins a browser may call from are
 * named, never "anyone".
 */
const ENTRY = /^(https?):\/\/(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::(\*|\d{1,5}))?$/;
const ORIGIN = /^(https?):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;
const DEFAULT_PORTS: Record<string, string> = { http: "80", https: "443" };

/** Not production and CORS_ORIGINS unset: pages served from this machine, on any port. */
export const DEVELOPMENT_ORIGINS = [
  "http://localhost:*",
  "https://localhost:*",
  "http://127.0.0.1:*",
  "https://127.0.0.1:*",
  "http://[::1]:*",
  "https://[::1]:*",
] as const;

type Pattern = { scheme: string; subdomains: boolean; host: string; port: string | "*" | "" };

/** One CORS_ORIGINS entry, or why it is not one. */
function parseEntry(entry: string): Pattern | string {
  const match = ENTRY.exec(entry.toLowerCase());
  if (!match) {
    return entry.includes("*")
      ? `"${entry}": a wildcard may only stand for subdomains (https://*.example.com) or the port (http://localhost:*)`
      : `"${entry}" is not an origin (scheme://host[:port], no path)`;
  }
  const [, scheme = "", subdomains, host = "", port = ""] = match;
  if (subdomains && host.startsWith("[")) return `"${entry}": an IP address has no subdomains`;
  if (port !== "*" && port !== "" && (Number(port) < 1 || Number(port) > 65535)) return `"${entry}": the port must be 1-65535`;
  // Browsers leave a default port out of Origin.
  return { scheme, subdomains: Boolean(subdomains), host, port: port === DEFAULT_PORTS[scheme] ? "" : port };
}

/**
 * CORS_ORIGINS: comma-separated origins and patterns, or `none`. Parsed into the list of
 * entries (checked); unset, the gateway's config picks the default (none in production).
 */
export const corsOriginsVariable = () =>
  z
    .string()
    .transform((text, context) => {
      if (text.trim().toLowerCase() === "none") return [];
      const entries = text.split(",").map((entry) => entry.trim()).filter(Boolean);
      for (const entry of entries) {
        const parsed = parseEntry(entry);
        if (typeof parsed === "string") context.addIssue({ code: "custom", message: parsed });
      }
      return entries;
    })
    .optional();

/** Whether a request's Origin header is one of the allowed entries. */
export function originMatcher(entries: readonly string[]): (origin: string | undefined) => boolean {
  const patterns = entries.map(parseEntry).filter((pattern): pattern is Pattern => typeof pattern !== "string");
  return (origin) => {
    // An opaque origin ("null": sandboxed frames, file: pages) is never allowed.
    const match = origin ? ORIGIN.exec(origin.toLowerCase()) : null;
    if (!match) return false;
    const [, scheme = "", host = "", rawPort = ""] = match;
    const port = rawPort === DEFAULT_PORTS[scheme] ? "" : rawPort;
    return patterns.some(
      (pattern) =>
        pattern.scheme === scheme &&
        (pattern.subdomains ? host.endsWith(`.${pattern.host}`) : host === pattern.host) &&
        (pattern.port === "*" || pattern.port === port),
    );
  };
}

/**
 * What a cross-origin page may send and read. Credentials are tokens in headers
 * (Authorization, X-API-Key), never cookies, so there is no Access-Control-Allow-Credentials.
 */
const POLICY = {
  // HEAD, PATCH and DELETE: resumable uploads (tus) on /content/uploads.
  methods: ["GET", "POST", "HEAD", "PATCH", "DELETE"],
  allowedHeaders: [
    "content-type",
    // Uploads: a declared digest, a retry's key, and the tus protocol's headers.
    "content-digest",
    "idempotency-key",
    "range",
    "if-none-match",
    "if-range",
    "tus-resumable",
    "upload-length",
    "upload-metadata",
    "upload-offset",
    "x-http-method-override",
    "authorization",
    "x-api-key",
    // Apollo's CSRF prevention asks a non-JSON request for one of these two.
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "x-request-id",
    "traceparent",
    "tracestate",
    // Client usage metrics (plugins/client-usage.ts).
    "apollographql-client-name",
    "apollographql-client-version",
    "x-client-name",
    "x-client-version",
  ],
  exposedHeaders: ["x-request-id", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "etag", "location", "content-range", "tus-resumable", "tus-version", "tus-max-size", "tus-extension", "upload-offset", "upload-length", "upload-expires"],
  // Chromium caches a preflight for at most two hours, whatever is asked.
  maxAge: 7200,
  optionsSuccessStatus: 204,
};

const isCorsPath = (path: string) => path === "/graphql" || path.startsWith("/content/");
const isPreflight = (req: IncomingMessage) => req.method === "OPTIONS" && headerValue(req, "origin") !== undefined && headerValue(req, "access-control-request-method") !== undefined;

/**
 * CORS for /graphql and /content/ (docs/explorer.md, "Cross-origin requests"), with the
 * `cors` package: an allowed origin's preflight is answered 204 with the methods, headers and
 * max-age above, and its requests carry Access-Control-Allow-Origin (the origin itself). A
 * disallowed origin gets no CORS header at all, so the browser keeps the answer from the
 * page, and its preflight is refused with 403. CSRF is not this layer's job: Apollo's CSRF
 * prevention still refuses the simple requests (forms) that no preflight guards.
 */
export function createCors(allowedOrigins: readonly string[]) {
  const allowed = originMatcher(allowedOrigins);
  const middleware = cors({ ...POLICY, origin: (origin, callback) => callback(null, allowed(origin)) });
  /** Wraps a route: CORS first, then the route, unless CORS answered (a preflight). */
  return (handler: RouteHandler): RouteHandler =>
    (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      if (!isCorsPath(path)) return handler(req, res);
      // Whatever the origin: a cache must not give one origin's answer to another.
      res.setHeader("vary", "Origin");
      // The origin check above is synchronous, so the middleware has answered or passed by the time it returns.
      middleware(req, res, () => undefined);
      if (res.writableEnded) return;
      if (isPreflight(req)) {
        return sendJson(res, 403, { errors: [{ message: "Cross-origin requests are not allowed from this origin", extensions: { code: ErrorCode.FORBIDDEN } }] });
      }
      return handler(req, res);
    };
}
