import {
  ADMIN_IDS_PATH,
  IDENTITY_HEADER,
  REQUEST_ID_HEADER,
  Role,
  createIdentityVerifier,
  hasRole,
  headerValue,
  requestIdFrom,
  sendJson,
  type Logger,
  type RouteHandler,
} from "@startales/service-kit";
import type { Db } from "./db";

/**
 * Identity's internal route for the notification subgraph's alert receiver
 * (subgraphs/notification/src/alerts/identity-admins.ts names the same path).
 */
/** More admins than any operator team has; the receiver notifies at most this many. */
export const MAX_ADMIN_IDS = 500;
const NO_STORE = { "cache-control": "no-store" };

/**
 * POST ADMIN_IDS_PATH (/internal/users/admins), for services (the notification subgraph's
 * Alertmanager receiver): no body, `{ userIds }` out: the ids of the users who hold the ADMIN
 * role now (up to MAX_ADMIN_IDS, oldest accounts first). Like campaign's world-setup route,
 * the caller must carry an identity signed with the gateway-signing secret that has the
 * SERVICE role (the caller signs its own): 401 without a valid one, 403 for anyone else. The
 * gateway does not route /internal/*, so this is reachable only inside the cluster (and
 * NetworkPolicies narrow it to notification).
 */
export function adminIdsRoute(deps: { db: Db; gatewaySigningSecret: string; logger: Logger }): Record<string, RouteHandler> {
  const verify = createIdentityVerifier(deps.gatewaySigningSecret);
  const handler: RouteHandler = async (req, res) => {
    const logger = deps.logger.child({ requestId: requestIdFrom(req.headers[REQUEST_ID_HEADER]) });
    try {
      const viewer = await verify(headerValue(req, IDENTITY_HEADER));
      if (!hasRole(viewer, Role.SERVICE)) return sendJson(res, 403, { error: "FORBIDDEN", message: "Only services may list the admins" }, NO_STORE);
    } catch (error) {
      logger.warn({ reason: (error as Error).message }, "refused an admin-ids call without a valid signed identity");
      return sendJson(res, 401, { error: "UNAUTHENTICATED", message: "A signed service identity is required" }, NO_STORE);
    }
    const admins = await deps.db.user.findMany({
      where: { roles: { has: "ADMIN" } },
      select: { id: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: MAX_ADMIN_IDS,
    });
    sendJson(res, 200, { userIds: admins.map((admin) => admin.id) }, NO_STORE);
  };
  return { [ADMIN_IDS_PATH]: handler };
}
