import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type BaseContext } from "@apollo/server";
import type { GraphQLError } from "graphql";
import { API_KEY_HEADER } from "./api-keys";
import { ErrorCode } from "./errors";
import { sendJson, type RouteHandler } from "./http-server";
import type { Logger } from "./logger";

export class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Reads a request body up to `limit` bytes; a larger body is refused without buffering it. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return (await readBodyBytes(req, limit)).toString("utf8");
}

/** readBody's bytes, for a body that is not text (an upload). */
export function readBodyBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) return Promise.reject(new BodyError(413, `Request body exceeds ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyError(413, `Request body exceeds ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** A strong entity tag for a body: the first 128 bits of its SHA-256, base64url. */
export const entityTag = (body: string) => `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;

/** Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks of If-None-Match) or is `*`. */
export function matchesEntityTag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim();
    return tag === "*" || (tag.startsWith("W/") ? tag.slice(2) : tag) === etag;
  });
}

/** JSON in a GET parameter, or the raw text when it is not JSON (Apollo then refuses it itself). */
function jsonParameter(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The operations a request carries, as raw parameters: a POST's object or batch, or a GET's search parameters. */
function operationsOf(method: string | undefined, body: unknown, search: URLSearchParams): Record<string, unknown>[] {
  if (method === "POST") {
    const items = Array.isArray(body) ? body : [body];
    return items.filter((item): item is Record<string, unknown> => item !== null && typeof item === "object" && !Array.isArray(item));
  }
  return [{ query: search.get("query") ?? undefined, operationName: search.get("operationName") ?? undefined, variables: jsonParameter(search.get("variables")), extensions: jsonParameter(search.get("extensions")) }];
}

function headerMapOf(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}

/**
 * Serves an ApolloServer on plain node:http. Kept in our hands (rather than an Express
 * integration) so body limits, keep-alive and the hot path stay small and measurable.
 */
export function apolloHandler<TContext extends BaseContext>(
  server: ApolloServer<TContext>,
  options: {
    bodyLimit: number;
    context: (req: IncomingMessage) => Promise<TContext>;
    /** Most operations in one batched (JSON array) request; a larger batch is refused before any of it runs. */
    maxBatchSize?: number;
    /**
     * Checks one operation's raw parameters (a body object, a batch's member, a GET's search
     * parameters) before Apollo parses anything; an error refuses the whole request with its
     * code and HTTP status.
     */
    preflight?: (operation: Record<string, unknown>) => GraphQLError | undefined;
    /** Where the refusals decided here are logged (once each, at info: they are the client's mistakes). */
    logger?: Logger;
    /**
     * Conditional GETs (RFC 9110): a complete 200 answer to a GET carries a strong ETag (a hash
     * of its bytes), and a GET whose If-None-Match names it is answered 304 without a body, so
     * a client polling a query by GET downloads it again only once it has changed. POSTs are
     * never answered 304 (the RFC allows it for GET and HEAD only).
     */
    conditionalGets?: boolean;
  },
): RouteHandler {
  const refuse = (res: ServerResponse, status: number, code: string, message: string) => {
    options.logger?.info({ status, code, message }, "request refused");
    return sendJson(res, status, { errors: [{ message, extensions: { code } }] });
  };
  return async (req, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/graphql") {
      return sendJson(res, 404, { errors: [{ message: "Not found: GraphQL is served at /graphql", extensions: { code: ErrorCode.NOT_FOUND } }] });
    }
    let body: unknown = undefined;
    if (req.method === "POST") {
      try {
        const text = await readBody(req, options.bodyLimit);
        const type = req.headers["content-type"] ?? "";
        body = type.includes("json") && text.length > 0 ? JSON.parse(text) : text;
      } catch (error) {
        const status = error instanceof BodyError ? error.status : 400;
        const message = error instanceof BodyError ? error.message : "Request body is not valid JSON";
        return refuse(res, status, ErrorCode.BAD_REQUEST, message);
      }
    }
    const max = options.maxBatchSize;
    if (Array.isArray(body) && max !== undefined && body.length > max) {
      // Checked here, before context or plans, so an oversized batch costs nothing to refuse.
      const [status, message] = max === 0
        ? [400, "Batched requests are not accepted: send one operation per request"]
        : [413, `A batch may hold at most ${max} operations; this one has ${body.length}`];
      return refuse(res, status, ErrorCode.BAD_REQUEST, message);
    }
    if (options.preflight) {
      for (const operation of operationsOf(req.method, body, url.searchParams)) {
        const error = options.preflight(operation);
        if (!error) continue;
        const status = (error.extensions.http as { status?: number } | undefined)?.status ?? 400;
        return refuse(res, status, String(error.extensions.code), error.message);
      }
    }
    const result = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: (req.method ?? "GET").toUpperCase(), headers: headerMapOf(req), search: url.search, body },
      context: () => options.context(req),
    });
    for (const [key, value] of result.headers) res.setHeader(key, value);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === "complete") {
      if (options.conditionalGets && req.method === "GET" && res.statusCode === 200) {
        const etag = entityTag(result.body.string);
        res.setHeader("etag", etag);
        // The answer depends on who asked: a browser's cache must not hand it to the next user of the same profile.
        const vary = res.getHeader("vary");
        res.setHeader("vary", [vary, "Authorization", API_KEY_HEADER].filter(Boolean).join(", "));
        if (matchesEntityTag(req.headers["if-none-match"], etag)) {
          res.statusCode = 304;
          res.removeHeader("content-type");
          res.removeHeader("content-length");
          res.end();
          return;
        }
      }
      res.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
