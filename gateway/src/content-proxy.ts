import type { IncomingMessage, ServerResponse } from "node:http";
import { Agent } from "undici";
import { ErrorCode, requestError, sendJson, type Logger } from "@startales/service-kit";

/** Content ids are sha256 hex digests (the provider's content store). */
const CONTENT_PATH = /^\/content\/[0-9a-f]{64}$/;
/** What the provider says about a blob that the client needs; nothing else crosses. */
const FORWARDED_HEADERS = ["content-type", "content-length", "cache-control", "etag", "last-modified", "x-content-type-options", "content-security-policy"];

/**
 * `GET /content/<sha256>`: generated audio and images (the provider's content store), through
 * the gateway, the only door clients have. The ids are unguessable capabilities, so no
 * credential is asked; requests are charged to the client's address like any other, and
 * the provider's answer (including 304 for a matching ETag) is streamed through unchanged.
 */
export function createContentProxy(options: {
  providerUrl: string;
  timeoutMs: number;
  chargeAddress: (req: IncomingMessage) => Promise<unknown>;
  logger: Logger;
}) {
  const agent = new Agent({ connections: 16, keepAliveTimeout: 4_000 });
  const { origin } = new URL(options.providerUrl);
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (!CONTENT_PATH.test(path)) return sendJson(res, 404, { errors: [{ message: "No such content", extensions: { code: ErrorCode.NOT_FOUND } }] });
    try {
      await options.chargeAddress(req);
    } catch (error) {
      const retryAfter = String((error as { extensions?: { retryAfter?: unknown } }).extensions?.retryAfter ?? 60);
      return sendJson(res, 429, { errors: [{ message: "Too many requests", extensions: { code: ErrorCode.RATE_LIMITED, retryAfter: Number(retryAfter) } }] }, { "retry-after": retryAfter });
    }
    let upstream;
    try {
      const ifNoneMatch = req.headers["if-none-match"];
      upstream = await agent.request({
        origin,
        path,
        method: "GET",
        headers: typeof ifNoneMatch === "string" ? { "if-none-match": ifNoneMatch } : {},
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
    } catch (error) {
      options.logger.warn({ err: error }, "provider unreachable for content");
      const unavailable = requestError(ErrorCode.SERVICE_UNAVAILABLE, "Content is unavailable; try again shortly");
      return sendJson(res, 503, { errors: [{ message: unavailable.message, extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } }] });
    }
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_HEADERS) {
      const value = upstream.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    res.writeHead(upstream.statusCode, headers);
    for await (const chunk of upstream.body) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once("drain", resolve));
    }
    res.end();
  };
  return { handler, close: () => agent.close() };
}
