import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { Agent } from "undici";
import { ErrorCode, IDENTITY_HEADER, REQUEST_ID_HEADER, headerValue, requestError, requestIdFrom, sendJson, type Logger, type Viewer } from "@startales/service-kit";

/** Blob addresses are SHA-256 hex digests; a private blob's signed link adds a query. */
const BLOB_PATH = /^\/content\/[0-9a-f]{64}$/;
export const UPLOAD_PATH = "/content/assets";
/** Resumable uploads (tus): `POST /content/uploads` begins one, `HEAD|PATCH|DELETE /content/uploads/<id>` resume or cancel it. */
export const RESUMABLE_PATH = "/content/uploads";
const RESUMABLE_ID = /^\/content\/uploads(?:\/[0-9a-f-]{36})?$/;
/** The tus protocol's request headers (and what carries the bytes). */
const RESUMABLE_REQUEST_HEADERS = ["tus-resumable", "upload-length", "upload-defer-length", "upload-metadata", "upload-offset", "upload-concat", "content-type", "content-length", "x-http-method-override"];
/** And its response headers. */
const RESUMABLE_RESPONSE_HEADERS = ["tus-resumable", "tus-version", "tus-extension", "tus-max-size", "upload-offset", "upload-length", "upload-metadata", "upload-expires", "upload-defer-length"];
/** What a client may tell content about a download or an upload; nothing else crosses (no cookies, no credentials). */
const DOWNLOAD_REQUEST_HEADERS = ["if-none-match", "if-range", "range"];
const UPLOAD_REQUEST_HEADERS = ["content-type", "content-length", "content-digest", "idempotency-key", "transfer-encoding"];
/** What content (or the provider) says that the client needs. */
const RESPONSE_HEADERS = [
  "content-type",
  "content-length",
  "content-range",
  "accept-ranges",
  "cache-control",
  "etag",
  "last-modified",
  "location",
  "x-content-type-options",
  "content-security-policy",
  "cross-origin-resource-policy",
];
/** An upload may take this long to reach content and be answered (the bytes of a slow client's file included). */
const UPLOAD_TIMEOUT_MS = 120_000;

type Upstream = Awaited<ReturnType<Agent["request"]>>;

const pick = (from: Record<string, string | string[] | undefined>, names: string[]) => {
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = from[name];
    if (typeof value === "string") headers[name] = value;
  }
  return headers;
};

/**
 * Streams content's answer to the client. pipeline() closes content's body when the client
 * goes away mid-download (a cancelled video, a resuming client): otherwise the connection to
 * content stays taken, and once the agent's are all taken every download hangs.
 */
async function relay(upstream: Upstream, res: ServerResponse, headers: string[] = RESPONSE_HEADERS): Promise<void> {
  res.writeHead(upstream.statusCode, pick(upstream.headers, headers));
  await pipeline(upstream.body, res).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ERR_STREAM_PREMATURE_CLOSE") throw error;
  });
}

const unavailable = (res: ServerResponse) => {
  const error = requestError(ErrorCode.SERVICE_UNAVAILABLE, "Content is unavailable; try again shortly");
  sendJson(res, 503, { errors: [{ message: error.message, extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } }] }, { "retry-after": "5" });
};

/**
 * `/content/` on the gateway, the only door clients have to bytes (docs/architecture.md §8):
 *
 * - `GET|HEAD /content/<sha256>`: an asset's bytes from content (Range, conditional requests
 *   and signed links pass through). A blob content does not know is asked of the provider,
 *   whose generated audio and images were kept there before content existed. Addresses are
 *   unguessable capabilities, so no credential is asked; requests are charged to the address.
 * - `POST /content/assets`: an upload, authenticated and charged like a GraphQL request and
 *   streamed to content with the caller's signed identity; content checks everything else.
 * - `/content/uploads[/<id>]`: resumable uploads (tus), each request authenticated and charged
 *   the same way, the protocol's headers and the parts passed through.
 */
export function createContentProxy(options: {
  contentUrl: string;
  providerUrl: string;
  timeoutMs: number;
  chargeAddress: (req: IncomingMessage) => Promise<unknown>;
  /** Charges the address, verifies the caller and charges them, as for a GraphQL request; throws our errors (429, 401). */
  authenticate: (req: IncomingMessage, requestId: string) => Promise<Viewer>;
  signIdentity: (viewer: Viewer, requestId: string) => Promise<string>;
  logger: Logger;
}) {
  const agent = new Agent({ connections: 32, keepAliveTimeout: 4_000 });
  const content = new URL(options.contentUrl).origin;
  const provider = new URL(options.providerUrl).origin;

  const charge = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    try {
      await options.chargeAddress(req);
      return true;
    } catch (error) {
      const retryAfter = String((error as { extensions?: { retryAfter?: unknown } }).extensions?.retryAfter ?? 60);
      sendJson(res, 429, { errors: [{ message: "Too many requests", extensions: { code: ErrorCode.RATE_LIMITED, retryAfter: Number(retryAfter) } }] }, { "retry-after": retryAfter });
      return false;
    }
  };

  const download = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (!BLOB_PATH.test(url.pathname)) return sendJson(res, 404, { errors: [{ message: "No such content", extensions: { code: ErrorCode.NOT_FOUND } }] });
    if (!(await charge(req, res))) return;
    const method = req.method === "HEAD" ? "HEAD" : "GET";
    const ask = (origin: string, path: string) =>
      agent.request({ origin, path, method, headers: pick(req.headers, DOWNLOAD_REQUEST_HEADERS), headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
    let upstream: Upstream;
    try {
      upstream = await ask(content, `${url.pathname}${url.search}`);
    } catch (error) {
      options.logger.warn({ err: error }, "content unreachable for a download");
      return unavailable(res);
    }
    if (upstream.statusCode === 404) {
      // The provider's blobs from before content: an address neither knows is content's 404.
      await upstream.body.dump();
      try {
        const legacy = await ask(provider, url.pathname);
        if (legacy.statusCode !== 404) return relay(legacy, res);
        await legacy.body.dump();
      } catch (error) {
        options.logger.warn({ err: error }, "provider unreachable for content");
      }
      return sendJson(res, 404, { errors: [{ message: "No such content", extensions: { code: ErrorCode.NOT_FOUND } }] });
    }
    return relay(upstream, res);
  };

  const upload = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdFrom(headerValue(req, REQUEST_ID_HEADER));
    const viewer = await options.authenticate(req, requestId);
    if (viewer.kind !== "user") throw requestError(ErrorCode.UNAUTHENTICATED, "You must be signed in to upload");
    const url = new URL(req.url ?? "/", "http://gateway");
    let upstream: Upstream;
    try {
      upstream = await agent.request({
        origin: content,
        path: `${UPLOAD_PATH}${url.search}`,
        method: "POST",
        headers: { ...pick(req.headers, UPLOAD_REQUEST_HEADERS), [IDENTITY_HEADER]: await options.signIdentity(viewer, requestId), [REQUEST_ID_HEADER]: requestId },
        body: req,
        headersTimeout: UPLOAD_TIMEOUT_MS,
        bodyTimeout: UPLOAD_TIMEOUT_MS,
      });
    } catch (error) {
      options.logger.warn({ err: error }, "content unreachable for an upload");
      return unavailable(res);
    }
    return relay(upstream, res);
  };

  const resumable = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (!RESUMABLE_ID.test(url.pathname)) return sendJson(res, 404, { errors: [{ message: "No such upload", extensions: { code: ErrorCode.NOT_FOUND } }] });
    const requestId = requestIdFrom(headerValue(req, REQUEST_ID_HEADER));
    const viewer = await options.authenticate(req, requestId);
    if (viewer.kind !== "user") throw requestError(ErrorCode.UNAUTHENTICATED, "You must be signed in to upload");
    const method = (req.method ?? "GET") as "POST" | "HEAD" | "PATCH" | "DELETE" | "OPTIONS";
    let upstream: Upstream;
    try {
      upstream = await agent.request({
        origin: content,
        path: url.pathname,
        method,
        headers: { ...pick(req.headers, RESUMABLE_REQUEST_HEADERS), [IDENTITY_HEADER]: await options.signIdentity(viewer, requestId), [REQUEST_ID_HEADER]: requestId },
        body: method === "PATCH" || method === "POST" ? req : undefined,
        headersTimeout: UPLOAD_TIMEOUT_MS,
        bodyTimeout: UPLOAD_TIMEOUT_MS,
      });
    } catch (error) {
      options.logger.warn({ err: error }, "content unreachable for a resumable upload");
      return unavailable(res);
    }
    return relay(upstream, res, [...RESPONSE_HEADERS, ...RESUMABLE_RESPONSE_HEADERS]);
  };

  return { download, upload, resumable, close: () => agent.close() };
}
