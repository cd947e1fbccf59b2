import { z } from "zod";
import { USER_ADDRESSES_PATH, serviceOnlyRoute, type Logger, type RouteHandler } from "@startales/service-kit";
import type { Db } from "./db";

/** Users per request at most: a notification fan-out's batch. */
export const MAX_ADDRESS_USERS = 1000;

const body = z.object({ userIds: z.array(z.uuid()).min(1).max(MAX_ADDRESS_USERS) });

/**
 * POST USER_ADDRESSES_PATH (/internal/users/addresses) `{ userIds }`, for the notification
 * worker pool's email channel: 200 `{ users: [{ id, email, emailVerified, emailVersion, locale,
 * displayName }] }` for those that exist and are not service accounts (which get no mail), in
 * no particular order. Unverified addresses are included, marked: the caller decides.
 * Service-only (serviceOnlyRoute).
 */
export function userAddressesRoute(deps: { db: Db; gatewaySigningSecret: string; logger: Logger }): Record<string, RouteHandler> {
  const handler = serviceOnlyRoute(
    {
      secret: deps.gatewaySigningSecret,
      logger: deps.logger,
      what: "read users' addresses",
      body: { schema: body, maxBytes: 64 * 1024, hint: `Send { userIds } (1 to ${MAX_ADDRESS_USERS} UUIDs)` },
    },
    async ({ body: { userIds } }) => {
      const users = await deps.db.user.findMany({
        where: { id: { in: [...new Set(userIds)] }, NOT: { roles: { has: "SERVICE" } } },
        select: { id: true, email: true, emailVerifiedAt: true, emailVersion: true, locale: true, displayName: true },
      });
      return {
        status: 200,
        body: { users: users.map(({ emailVerifiedAt, ...user }) => ({ id: user.id, email: user.email, emailVerified: emailVerifiedAt !== null, emailVersion: user.emailVersion, locale: user.locale, displayName: user.displayName })) },
      };
    },
  );
  return { [USER_ADDRESSES_PATH]: handler };
}
