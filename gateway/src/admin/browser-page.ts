import express, { type Express } from "express";

/**
 * Headers on every answer of the queues admin. The page may load and call only its own
 * origin (bull-board's UI is all in @bull-board/ui: scripts, styles, images, translations),
 * is never framed (no clickjacking of its buttons), and nothing it shows (job data) is cached.
 */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

// bull-board's page links its fonts from a public CDN: an operator behind a port-forward (or
// offline) would wait on it, and it would learn who opens the admin. The UI falls back to the
// system fonts.
const REMOTE_LINK = /<link\b[^>]*\bhref="(?:https?:)?\/\/[^"]*"[^>]*>/gi;

export const withoutRemoteLinks = (html: string) => html.replace(REMOTE_LINK, "");

/** The board's express app behind one that takes the remote links out of the pages it renders. */
export function servedOffline(board: Express): Express {
  const app = express();
  app.disable("x-powered-by");
  board.disable("x-powered-by");
  app.use((_req, res, next) => {
    const render = res.render.bind(res);
    res.render = ((view: string, options?: object) =>
      render(view, options ?? {}, (error: Error | null, html?: string) => {
        if (error) return next(error);
        res.send(withoutRemoteLinks(html ?? ""));
      })) as typeof res.render;
    next();
  });
  app.use(board);
  return app;
}
