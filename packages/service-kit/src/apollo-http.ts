import type { IncomingMessage, ServerResponse } from "node:http";
import { HeaderMap, type ApolloServer, type BaseContext } from "@apollo/server";
import { ErrorCode } from "./errors";
import { sendJson, type RouteHandler } from "./http-server";

export class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Reads a request body up to `limit` bytes; a larger body is refused without buffering it. */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
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
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
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
  },
): RouteHandler {
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
        return sendJson(res, status, { errors: [{ message, extensions: { code: ErrorCode.BAD_USER_INPUT } }] });
      }
    }
    const max = options.maxBatchSize;
    if (Array.isArray(body) && max !== undefined && body.length > max) {
      // Checked here, before context or plans, so an oversized batch costs nothing to refuse.
      const [status, message] = max === 0
        ? [400, "Batched requests are not accepted: send one operation per request"]
        : [413, `A batch may hold at most ${max} operations; this one has ${body.length}`];
      return sendJson(res, status, { errors: [{ message, extensions: { code: ErrorCode.BAD_USER_INPUT } }] });
    }
    const result = await server.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: (req.method ?? "GET").toUpperCase(), headers: headerMapOf(req), search: url.search, body },
      context: () => options.context(req),
    });
    for (const [key, value] of result.headers) res.setHeader(key, value);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === "complete") {
      res.end(result.body.string);
      return;
    }
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
