import { ADMIN_IDS_PATH, serviceOnlyRoute, type Logger, type RouteHandler } from "@startales/service-kit";
import type { Db } from "./db";

/** More admins than any operator team has; the receiver notifies at most this many. */
export const MAX_ADMIN_IDS = 500;

/**
 * POST ADMIN_IDS_PATH (/internal/users/admins), for services (the notification subgraph's
 * Alertmanager receiver): no body, `{ userIds }` out: the ids of the users who hold the ADMIN
 * role now (up to MAX_ADMIN_IDS, oldest accounts first). Service-only (serviceOnlyRoute).
 */
export function adminIdsRoute(deps: { db: Db; gatewaySigningSecret: string; logger: Logger }): Record<string, RouteHandler> {
  const handler = serviceOnlyRoute({ secret: deps.gatewaySigningSecret, logger: deps.logger, what: "list the admins" }, async () => {
    const admins = await deps.db.user.findMany({
      where: { roles: { has: "ADMIN" } },
      select: { id: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: MAX_ADMIN_IDS,
    });
    return { status: 200, body: { userIds: admins.map((admin) => admin.id) } };
  });
  return { [ADMIN_IDS_PATH]: handler };
}
