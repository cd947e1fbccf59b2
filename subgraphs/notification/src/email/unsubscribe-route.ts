import type { ServerResponse } from "node:http";
import { GraphQLError } from "graphql";
import { BodyError, ErrorCode, badInput, readBody, requestError, type Logger, type RouteHandler } from "@startales/service-kit";
import type { Db } from "../db";
import { escapeHtml } from "./render-email";
import { readUnsubscribeToken } from "./unsubscribe-token";

/** Public (the gateway forwards it): every mail's List-Unsubscribe link is `<this>/<token>` (a protocol route: no trailing slash). */
export const UNSUBSCRIBE_PATH = "/email/unsubscribe";

/** A one-click POST's body is one short form field; anything longer is not one. */
const BODY_LIMIT_BYTES = 1_024;
const ONE_CLICK = "One-Click";

const page = (res: ServerResponse, status: number, title: string, inner: string) => {
  const html = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${inner}</body></html>`;
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(html),
    "cache-control": "no-store",
    // The page's only script-free job is the form; nothing else may load or frame it.
    "content-security-policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
  });
  res.end(html);
};

/**
 * One-click unsubscribe (RFC 8058) at `/email/unsubscribe/<token>`, the token naming a user
 * and a category (unsubscribe-token.ts):
 * - `POST` with `List-Unsubscribe=One-Click` (what mail clients send, and the page's form)
 *   turns that category's email preference off: 200, again 200; 400 for a token we did not
 *   sign or another body.
 * - `GET` shows a page whose button makes that POST. It never unsubscribes: link scanners and
 *   mail clients' previews fetch every link of a mail.
 */
export function unsubscribeRoute(deps: { secret: string; db: Db; logger: Logger }): Record<string, RouteHandler> {
  return {
    [UNSUBSCRIBE_PATH]: async (req, res) => {
      // Not decoded: a token is base64url, UUID and dot characters only, and a malformed escape must not throw.
      const token = (req.url ?? "").split("?")[0]!.slice(UNSUBSCRIBE_PATH.length + 1);
      const subject = readUnsubscribeToken(deps.secret, token);
      if (req.method === "GET" || req.method === "HEAD") {
        if (!subject) return page(res, 400, "Invalid link", "<p>This unsubscribe link is not valid.</p>");
        return page(
          res,
          200,
          "Unsubscribe",
          `<p>Stop the ${escapeHtml(subject.category.toLowerCase())} emails of Startales?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="${ONE_CLICK}"><button type="submit">Unsubscribe</button></form>`,
        );
      }
      if (req.method !== "POST") {
        res.writeHead(405, { allow: "GET, HEAD, POST", "content-length": 0 });
        res.end();
        return;
      }
      if (!subject) throw badInput("This unsubscribe link is not valid", [{ field: "token", message: "is not a token this service signed" }]);
      let body: string;
      try {
        body = await readBody(req, BODY_LIMIT_BYTES);
      } catch (error) {
        if (error instanceof BodyError) throw new GraphQLError(error.message, { extensions: { code: ErrorCode.BAD_REQUEST, http: { status: error.status } } });
        throw error;
      }
      if (new URLSearchParams(body).get("List-Unsubscribe") !== ONE_CLICK) {
        throw requestError(ErrorCode.BAD_REQUEST, "The body must be List-Unsubscribe=One-Click (RFC 8058)");
      }
      // The other channels keep what the player chose (in-app and push default on).
      await deps.db.preference.upsert({
        where: { userId_category: subject },
        create: { ...subject, inApp: true, push: true, email: false },
        update: { email: false },
      });
      deps.logger.info({ userId: subject.userId, category: subject.category }, "unsubscribed from a category's emails");
      return page(res, 200, "Unsubscribed", "<p>You will not receive these emails any more. You can turn them on again in the game's notification settings.</p>");
    },
  };
}
