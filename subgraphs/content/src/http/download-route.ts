import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import parseRange from "range-parser";
import { ErrorCode, sendJson, type Logger, type RouteHandler } from "@startales/service-kit";
import type { AssetService } from "../domain/asset-service";
import type { UrlSigner } from "../domain/signed-url";
import { BLOB_KEY, type ByteRange, type StorageDriver } from "../storage";

export const DOWNLOAD_PREFIX = "/content/";

const notFound = (res: ServerResponse) => sendJson(res, 404, { errors: [{ message: "No such content", extensions: { code: ErrorCode.NOT_FOUND } }] });

/** Whether If-None-Match names `etag` or is `*` (weak comparison, as RFC 9110 asks of it). */
const matches = (header: string | undefined, etag: string) =>
  header !== undefined && header.split(",").some((tag) => { const t = tag.trim().replace(/^W\//, ""); return t === "*" || t === etag; });

/**
 * `GET|HEAD /content/<sha256>`: an asset's bytes, as the gateway forwards them. The address is
 * the hash of the bytes, so an answer never changes: a public blob may be kept by CDNs and
 * browsers for a year (immutable); a private one needs the signed query its URL carries and is
 * never kept by a shared cache. A strong ETag (the hash), If-None-Match (304), Range and
 * If-Range (206, 416) let a client resume and skip what it has. The bytes are served as the
 * type they were sniffed as and can run nothing (nosniff, a sandboxing CSP). With S3 and
 * `presignedDownloads`, a private blob's signed GET is redirected to the bucket instead.
 */
export function downloadRoute(deps: { assets: AssetService; storage: StorageDriver; signer: UrlSigner; presignedDownloads: boolean; logger: Logger }): Record<string, RouteHandler> {
  const presign = deps.presignedDownloads ? deps.storage.presign?.bind(deps.storage) : undefined;
  return {
    [DOWNLOAD_PREFIX]: async (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? "/", "http://content");
      const sha256 = url.pathname.slice(DOWNLOAD_PREFIX.length);
      if (!BLOB_KEY.test(sha256)) return notFound(res);
      const facts = await deps.assets.blobFacts(sha256);
      if (!facts) return notFound(res);
      let cacheControl = "public, max-age=31536000, immutable";
      let presignFor = 0;
      if (!facts.public) {
        const expires = deps.signer.verify(sha256, url.searchParams);
        // Unsigned, it is as unknown as a blob that does not exist; signed but expired or forged, the link is refused.
        if (expires === null) {
          if (!url.searchParams.has("signature")) return notFound(res);
          return sendJson(res, 403, { errors: [{ message: "This link has expired or is not valid; ask for the asset again", extensions: { code: ErrorCode.FORBIDDEN } }] });
        }
        presignFor = Math.max(1, Math.floor((expires - Date.now()) / 1000));
        cacheControl = `private, max-age=${presignFor}`;
      }
      const etag = `"${sha256}"`;
      const headers: Record<string, string | number> = {
        etag,
        "cache-control": cacheControl,
        "accept-ranges": "bytes",
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "cross-origin-resource-policy": "cross-origin",
      };
      if (matches(req.headers["if-none-match"], etag)) {
        res.writeHead(304, headers);
        return void res.end();
      }
      // A private blob on S3: the bucket serves it (Range and all) on a presigned URL as long-lived as the link.
      if (presign && presignFor > 0 && req.method === "GET") {
        res.writeHead(302, { location: await presign(sha256, { expiresInSeconds: presignFor, mediaType: facts.mediaType }), "cache-control": cacheControl });
        return void res.end();
      }
      let range: ByteRange | undefined;
      const rangeHeader = req.headers.range;
      // If-Range: the range holds only for this very blob (it is always, as its tag is its hash; a date never matches a strong validator).
      const ifRange = req.headers["if-range"];
      if (rangeHeader && (ifRange === undefined || ifRange === etag)) {
        const ranges = parseRange(facts.size, rangeHeader, { combine: true });
        if (ranges === -1) {
          res.writeHead(416, { ...headers, "content-range": `bytes */${facts.size}` });
          return void res.end();
        }
        // A malformed header is ignored, and several ranges get the whole blob (RFC 9110 allows either).
        if (ranges !== -2 && ranges.length === 1) range = { start: ranges[0]!.start, end: ranges[0]!.end };
      }
      const body = req.method === "HEAD" ? null : await deps.storage.read(sha256, range);
      if (req.method !== "HEAD" && body === null) {
        deps.logger.error({ sha256 }, "a blob the database names is missing from storage");
        return notFound(res);
      }
      const length = range ? range.end - range.start + 1 : facts.size;
      res.writeHead(range ? 206 : 200, {
        ...headers,
        "content-type": facts.mediaType,
        "content-length": length,
        ...(range ? { "content-range": `bytes ${range.start}-${range.end}/${facts.size}` } : {}),
      });
      if (!body) return void res.end();
      await pipeline(body, res).catch((error: NodeJS.ErrnoException) => {
        // The client went away mid-download (a cancelled video, a resumable client): not a failure of ours.
        if (error.code !== "ERR_STREAM_PREMATURE_CLOSE") throw error;
      });
    },
  };
}
