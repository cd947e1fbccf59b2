import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { Agent } from "undici";
import { ErrorCode, REQUEST_ID_HEADER, headerValue, requestIdFrom, sendJson, type Logger } from "@startales/service-kit";

/** Mails' one-click unsubscribe links (RFC 8058) are `<this>/<token>` on the public origin (a protocol route: no trailing slash). */
export const UNSUBSCRIBE_PATH = "/email/unsubscribe";
/** A token: a user id, a category and a signature (notification checks it). */
const TOKEN_PATH = /^\/email\/unsubscribe\/[A-Za-z0-9._-]{1,200}$/;
const REQUEST_HEADERS = ["content-type", "content-length"];
const RESPONSE_HEADERS = ["content-type", "content-length", "cache-control", "content-security-policy", "x-content-type-options", "allow"];
/** The one-click POST's body is one short form field. */
const BODY_LIMIT_BYTES = 1_024;

const pick = (from: Record<string, string | string[] | undefined>, names: string[]) =>
  Object.fromEntries(names.flatMap((name) => (typeof from[name] === "string" ? [[name, from[name]]] : [])));

/**
 * `/email/unsubscribe/<token>` on the gateway, forwarded to notification as it came (GET the
 * page, POST the one-click unsubscribe). No credential: the signed token is the capability,
 * and a mail client's one-click POST carries nothing else. Charged to the address like any
 * anonymous request.
 */
export function createUnsubscribeProxy(options: { notificationUrl: string; timeoutMs: number; chargeAddress: (req: IncomingMessage) => Promise<unknown>; logger: Logger }) {
  const agent = new Agent({ connections: 8, keepAliveTimeout: 4_000 });
  const origin = new URL(options.notificationUrl).origin;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0]!;
    const method = req.method === "POST" ? "POST" : req.method === "GET" || req.method === "HEAD" ? req.method : null;
    if (!TOKEN_PATH.test(path) || !method) return sendJson(res, 404, { errors: [{ message: "Not found", extensions: { code: ErrorCode.NOT_FOUND } }] });
    if (Number(req.headers["content-length"] ?? 0) > BODY_LIMIT_BYTES) return sendJson(res, 413, { errors: [{ message: "Body too large", extensions: { code: ErrorCode.BAD_REQUEST } }] });
    try {
      await options.chargeAddress(req);
    } catch {
      return sendJson(res, 429, { errors: [{ message: "Too many requests", extensions: { code: ErrorCode.RATE_LIMITED } }] }, { "retry-after": "60" });
    }
    try {
      const upstream = await agent.request({
        origin,
        path,
        method,
        headers: { ...pick(req.headers, REQUEST_HEADERS), [REQUEST_ID_HEADER]: requestIdFrom(headerValue(req, REQUEST_ID_HEADER)) },
        body: method === "POST" ? req : undefined,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      res.writeHead(upstream.statusCode, pick(upstream.headers, RESPONSE_HEADERS));
      await pipeline(upstream.body, res);
    } catch (error) {
      options.logger.warn({ err: error }, "notification unreachable for an unsubscribe");
      if (!res.headersSent) sendJson(res, 503, { errors: [{ message: "Try again shortly", extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } }] }, { "retry-after": "5" });
    }
  };
  return { handle, close: () => agent.close() };
}
