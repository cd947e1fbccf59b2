import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode, headerValue, sendJson, type Logger, type RouteHandler } from "@startales/service-kit";
import { loadExplorerBundle, type ExplorerBundle } from "./bundle";
import { pageHeaders } from "./page-policy";
import { prefersHtml } from "./prefers-html";

const ASSETS_PREFIX = "/explorer/assets/";
/** Asset names are hashed by the build: a name's content never changes. */
const IMMUTABLE = "public, max-age=31536000, immutable";

export type Explorer = {
  /** GET routes (createHttpService `routes`). */
  routes: Record<string, RouteHandler>;
  /** GET routes by prefix (createHttpService `prefixRoutes`). */
  prefixRoutes: Record<string, RouteHandler>;
  /** The GraphQL endpoint, answering a browser's GET /graphql (Accept prefers text/html) with the explorer. */
  graphqlPage(graphql: RouteHandler): RouteHandler;
};

const pathOf = (req: IncomingMessage) => (req.url ?? "/").split("?")[0] ?? "/";
const notFound = (res: ServerResponse) => sendJson(res, 404, { errors: [{ message: "Not found", extensions: { code: ErrorCode.NOT_FOUND } }] });
const acceptsGzip = (req: IncomingMessage) => /\bgzip\b(?!;\s*q=0(?:\.0*)?\s*(?:,|$))/i.test(headerValue(req, "accept-encoding") ?? "");

function servePage(bundle: ExplorerBundle, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": bundle.page.length, ...pageHeaders(headerValue(req, "host")) });
  res.end(bundle.page);
}

function serveAsset(bundle: ExplorerBundle, req: IncomingMessage, res: ServerResponse): void {
  const asset = bundle.assets.get(pathOf(req).slice(ASSETS_PREFIX.length));
  if (!asset) return notFound(res);
  const gzip = asset.gzip && acceptsGzip(req) ? asset.gzip : undefined;
  res.writeHead(200, {
    "content-type": asset.contentType,
    "content-length": (gzip ?? asset.body).length,
    "cache-control": IMMUTABLE,
    "x-content-type-options": "nosniff",
    "cross-origin-resource-policy": "same-origin",
    ...(asset.gzip ? { vary: "Accept-Encoding" } : {}),
    ...(gzip ? { "content-encoding": "gzip" } : {}),
  });
  res.end(gzip ?? asset.body);
}

/**
 * The schema explorer (GraphiQL, docs/explorer.md): the page at /explorer, and to browsers
 * at GET /graphql; its files at /explorer/assets/<hashed name>. Off (EXPLORER=false), none
 * of it exists: /explorer is the gateway's ordinary 404 and GET /graphql is GraphQL only.
 */
export function createExplorer(options: { enabled: boolean; logger: Logger; dir?: string }): Explorer {
  if (!options.enabled) return { routes: {}, prefixRoutes: {}, graphqlPage: (graphql) => graphql };
  const bundle = loadExplorerBundle(options.dir);
  if (!bundle) {
    // A gateway run from sources without `npm run build`: the API works, the page says why it is missing.
    options.logger.warn("the explorer is not built (npm run build); /explorer answers 503");
    const unbuilt: RouteHandler = (_req, res) =>
      sendJson(res, 503, { errors: [{ message: "The explorer is not built: run npm run build", extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } }] });
    return { routes: { "/explorer": unbuilt }, prefixRoutes: { "/explorer/": unbuilt }, graphqlPage: (graphql) => graphql };
  }
  return {
    routes: { "/explorer": (req, res) => servePage(bundle, req, res) },
    prefixRoutes: {
      "/explorer/": (req, res) => {
        const path = pathOf(req);
        if (path === "/explorer/") return servePage(bundle, req, res);
        if (path.startsWith(ASSETS_PREFIX)) return serveAsset(bundle, req, res);
        return notFound(res);
      },
    },
    graphqlPage: (graphql) => (req, res) =>
      req.method === "GET" && pathOf(req) === "/graphql" && prefersHtml(headerValue(req, "accept")) ? servePage(bundle, req, res) : graphql(req, res),
  };
}
