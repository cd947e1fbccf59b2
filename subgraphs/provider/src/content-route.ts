import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, type RouteHandler } from "@startales/service-kit";
import type { ContentStore } from "./domain/content-store";

export const CONTENT_PREFIX = "/content/";
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * GET /content/<sha256>: the audio and images generated before they were stored in the content
 * subgraph (the gateway asks here for a blob content does not know). The address is the hash of the bytes,
 * so a response never changes: CDNs and browsers may keep it for a year (immutable), and
 * If-None-Match answers 304. The bytes are served as the type they were stored with,
 * never sniffed, and can run nothing (CSP sandbox).
 */
export function contentRoute(store: ContentStore): Record<string, RouteHandler> {
  return {
    [CONTENT_PREFIX]: async (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? "").split("?")[0] ?? "";
      const sha = path.slice(CONTENT_PREFIX.length);
      if (!SHA256.test(sha)) return sendJson(res, 404, { error: "not found" });
      const etag = `"${sha}"`;
      const headers = {
        etag,
        "cache-control": "public, max-age=31536000, immutable",
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "cross-origin-resource-policy": "cross-origin",
      };
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, headers);
        return void res.end();
      }
      const found = await store.get(sha);
      if (!found) return sendJson(res, 404, { error: "not found" });
      res.writeHead(200, { ...headers, "content-type": found.contentType, "content-length": found.bytes.length });
      res.end(found.bytes);
    },
  };
}
