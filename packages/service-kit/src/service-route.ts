import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { readBody } from "./apollo-http";
import { IDENTITY_HEADER, createIdentitySigner, createIdentityVerifier } from "./identity-assertion";
import { requestIdFrom, REQUEST_ID_HEADER } from "./correlation";
import { headerValue, sendJson, type RouteHandler } from "./http-server";
import type { Logger } from "./logger";
import { injectTraceHeaders } from "./trace-context";
import { Role, Scope, hasRole, signedIn, type Viewer } from "./viewer";

/** Internal answers hold users' data: no cache keeps them. */
const NO_STORE = { "cache-control": "no-store" };

/** What a service-only route's handler answers: a status and a JSON body. */
export type ServiceAnswer = { status: number; body: unknown };

/**
 * An internal route (`/internal/*`) only services may call: the caller carries an identity
 * signed with the gateway-signing secret that has the SERVICE role (it signs its own, with
 * createServiceCaller): 401 without a valid one, 403 for anyone else. With `body`, the JSON
 * body is read (at most `maxBytes`) and parsed by `schema`: 400 BAD_USER_INPUT with `hint`
 * otherwise. Every answer is `no-store`. The gateway does not route /internal/*, so such a
 * route is reachable only inside the cluster (NetworkPolicies narrow it to its callers).
 */
export function serviceOnlyRoute<TBody = undefined>(
  options: { secret: string; logger: Logger; what: string; body?: { schema: z.ZodType<TBody>; maxBytes: number; hint: string } },
  handle: (input: { body: TBody; viewer: Viewer; logger: Logger; req: IncomingMessage }) => Promise<ServiceAnswer>,
): RouteHandler {
  const verify = createIdentityVerifier(options.secret);
  return async (req: IncomingMessage, res: ServerResponse) => {
    const logger = options.logger.child({ requestId: requestIdFrom(req.headers[REQUEST_ID_HEADER]) });
    let viewer: Viewer;
    try {
      viewer = await verify(headerValue(req, IDENTITY_HEADER));
    } catch (error) {
      logger.warn({ reason: (error as Error).message, route: options.what }, "refused an internal call without a valid signed identity");
      return sendJson(res, 401, { error: "UNAUTHENTICATED", message: "A signed service identity is required" }, NO_STORE);
    }
    if (!hasRole(viewer, Role.SERVICE)) return sendJson(res, 403, { error: "FORBIDDEN", message: `Only services may ${options.what}` }, NO_STORE);
    let body = undefined as TBody;
    if (options.body) {
      try {
        body = options.body.schema.parse(JSON.parse(await readBody(req, options.body.maxBytes)));
      } catch {
        return sendJson(res, 400, { error: "BAD_USER_INPUT", message: options.body.hint }, NO_STORE);
      }
    }
    const answer = await handle({ body, viewer, logger, req });
    sendJson(res, answer.status, answer.body, NO_STORE);
  };
}

/**
 * Calls other services' service-only routes on this service's own behalf (not a caller's):
 * each request carries a SERVICE identity for `serviceId` signed with the shared secret, a
 * fresh request id and the trace context, and has `timeoutMs`. Requests made for a user
 * forward that user's identity instead (forwardedGraphQL).
 */
export function createServiceCaller(options: { secret: string; serviceId: string; timeoutMs: number }) {
  const sign = createIdentitySigner(options.secret);
  const service = signedIn(options.serviceId, [Role.SERVICE], { credential: "api_key", scopes: [Scope.READ] });
  return {
    /** POSTs `body` (JSON; none when undefined) to `url`: the status and the parsed JSON answer (null when it is not JSON). Throws when the peer is unreachable or slow. */
    async post<T = unknown>(url: string, body?: unknown): Promise<{ status: number; body: T | null }> {
      const requestId = randomUUID();
      const headers: Record<string, string> = { [IDENTITY_HEADER]: await sign(service, requestId), [REQUEST_ID_HEADER]: requestId };
      if (body !== undefined) headers["content-type"] = "application/json";
      injectTraceHeaders(headers);
      const res = await fetch(url, { method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(options.timeoutMs) });
      const text = await res.text();
      let parsed: T | null = null;
      try {
        parsed = JSON.parse(text) as T;
      } catch {
        parsed = null;
      }
      return { status: res.status, body: parsed };
    },
  };
}

export type ServiceCaller = ReturnType<typeof createServiceCaller>;
