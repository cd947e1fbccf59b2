import { z } from "zod";
import { ACCOUNT_MAIL_PATH, serviceOnlyRoute, type Logger, type RouteHandler } from "@startales/service-kit";
import type { Db } from "./db";
import type { AccountMailService } from "./domain/account-mail";

const body = z.object({ mailId: z.uuid() });

/**
 * POST ACCOUNT_MAIL_PATH (/internal/account-mail) `{ mailId }`, for the notification worker
 * pool as it sends an ACCOUNT_MAIL_REQUESTED: 200 `{ kind, to, locale, displayName, userId,
 * link, expiresAt }`, 404 for an unknown mail (or one whose user is gone), 410 once sending it
 * is pointless (its link used, expired or superseded). The link is made here, from the
 * signing secret: it is in no event and no table. Service-only (serviceOnlyRoute).
 */
export function accountMailRoute(deps: { db: Db; accountMail: AccountMailService; gatewaySigningSecret: string; logger: Logger }): Record<string, RouteHandler> {
  const handler = serviceOnlyRoute(
    { secret: deps.gatewaySigningSecret, logger: deps.logger, what: "read account mail", body: { schema: body, maxBytes: 1024, hint: "Send { mailId } (a UUID)" } },
    async ({ body: { mailId } }) => {
      const mail = await deps.accountMail.describe(deps.db, mailId);
      if (mail === "unknown") return { status: 404, body: { error: "NOT_FOUND", message: "No such mail" } };
      if (mail === "gone") return { status: 410, body: { error: "GONE", message: "This mail need not be sent any more" } };
      return { status: 200, body: mail };
    },
  );
  return { [ACCOUNT_MAIL_PATH]: handler };
}
