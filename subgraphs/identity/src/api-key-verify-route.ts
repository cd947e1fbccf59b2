import { z } from "zod";
import {
  IDENTITY_HEADER,
  REQUEST_ID_HEADER,
  createIdentityVerifier,
  readBody,
  requestIdFrom,
  sendJson,
  type Logger,
  type RouteHandler,
} from "@startales/service-kit";
import type { ApiKeyService } from "./domain/api-keys";

const body = z.object({ key: z.string().max(256) });
const BODY_LIMIT_BYTES = 1_024;
const NO_STORE = { "cache-control": "no-store" };

/**
 * POST /internal/api-keys/verify, for the gateway (which has no database): `{ key }` in,
 * `{ userId, roles, scopes, apiKeyId, expiresAt }` out (200), or 401 for a key that is
 * unknown, revoked or expired. The caller must carry the gateway's signed identity
 * assertion, like every GraphQL request; without one it gets 403, so the gateway can tell
 * "this key is bad" (401, cacheable) from "identity does not trust me" (a misconfiguration).
 */
export function apiKeyVerifyRoute(deps: { apiKeys: ApiKeyService; gatewaySigningSecret: string; logger: Logger }): RouteHandler {
  const verifyCaller = createIdentityVerifier(deps.gatewaySigningSecret);
  return async (req, res) => {
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    const logger = deps.logger.child({ requestId });
    const assertion = req.headers[IDENTITY_HEADER];
    try {
      await verifyCaller(Array.isArray(assertion) ? assertion[0] : assertion);
    } catch (error) {
      logger.warn({ reason: (error as Error).message }, "refused an API key verification that did not come from the gateway");
      return sendJson(res, 403, { error: "Only the gateway may verify API keys" }, NO_STORE);
    }
    let key: string;
    try {
      key = body.parse(JSON.parse(await readBody(req, BODY_LIMIT_BYTES))).key;
    } catch {
      return sendJson(res, 400, { error: 'The body must be JSON: {"key": "<API key>"}' }, NO_STORE);
    }
    const verified = await deps.apiKeys.verify(key);
    if (!verified) {
      logger.debug("refused an unknown, revoked or expired API key");
      return sendJson(res, 401, { error: "Unknown, revoked or expired API key" }, NO_STORE);
    }
    sendJson(res, 200, verified, NO_STORE);
  };
}
