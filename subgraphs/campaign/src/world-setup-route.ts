import { z } from "zod";
import {
  IDENTITY_HEADER,
  REQUEST_ID_HEADER,
  Role,
  WORLD_SETUP_PATH,
  createIdentityVerifier,
  hasRole,
  headerValue,
  isId,
  readBody,
  requestIdFrom,
  sendJson,
  type Logger,
  type RouteHandler,
} from "@startales/service-kit";
import type { Db } from "./db";

const body = z.object({ campaignId: z.string().refine(isId, "must be a campaign id") });
const NO_STORE = { "cache-control": "no-store" };

/**
 * POST WORLD_SETUP_PATH (/internal/campaigns/world-setup), for the simulation worker pool: `{ campaignId }` in,
 * `{ id, status, version, seed, tickRateMs, memberIds }` out (404 when there is no such
 * campaign): what a world is generated from and how fast it ticks. The seed is a game
 * master's secret, so the caller must carry a signed identity with the SERVICE role (the
 * simulation signs its own); anyone else gets 403. The gateway does not route /internal/*,
 * so this is reachable only inside the cluster (and NetworkPolicies narrow it further).
 */
export function worldSetupRoute(deps: { db: Db; gatewaySigningSecret: string; logger: Logger }): Record<string, RouteHandler> {
  const verify = createIdentityVerifier(deps.gatewaySigningSecret);
  const handler: RouteHandler = async (req, res) => {
    const logger = deps.logger.child({ requestId: requestIdFrom(req.headers[REQUEST_ID_HEADER]) });
    try {
      const viewer = await verify(headerValue(req, IDENTITY_HEADER));
      if (!hasRole(viewer, Role.SERVICE)) return sendJson(res, 403, { error: "FORBIDDEN", message: "Only services may read a campaign's world setup" }, NO_STORE);
    } catch (error) {
      logger.warn({ reason: (error as Error).message }, "refused a world-setup call without a valid signed identity");
      return sendJson(res, 401, { error: "UNAUTHENTICATED", message: "A signed service identity is required" }, NO_STORE);
    }
    let campaignId: string;
    try {
      campaignId = body.parse(JSON.parse(await readBody(req, 1_024))).campaignId;
    } catch {
      return sendJson(res, 400, { error: "BAD_USER_INPUT", message: 'The body must be JSON: {"campaignId": "<uuid>"}' }, NO_STORE);
    }
    const campaign = await deps.db.campaign.findUnique({
      where: { id: campaignId },
      include: { memberships: { select: { userId: true }, orderBy: [{ joinedAt: "asc" }, { id: "asc" }] } },
    });
    if (!campaign) return sendJson(res, 404, { error: "NOT_FOUND", message: "No campaign with this id" }, NO_STORE);
    sendJson(
      res,
      200,
      {
        id: campaign.id,
        status: campaign.status,
        version: campaign.version,
        seed: campaign.seed,
        tickRateMs: campaign.tickRateMs,
        memberIds: campaign.memberships.map((m) => m.userId),
      },
      NO_STORE,
    );
  };
  return { [WORLD_SETUP_PATH]: handler };
}
