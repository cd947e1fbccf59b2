/** A Host header fit to name in a policy: a DNS name or bracketed IPv6 address, and a port. */
const HOST = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * The explorer page's Content-Security-Policy: everything from the gateway itself, nothing
 * inline, nothing from elsewhere. Each allowance is one GraphiQL needs:
 * - script-src 'self': the bundle, a file; no inline script, no eval.
 * - style-src 'self' 'unsafe-inline': the stylesheet is a file, but Monaco (the editor)
 *   and GraphiQL's panes set style attributes and add <style> elements at run time
 *   (line positions, resizing, themes), which no nonce or hash can cover.
 * - font-src 'self' data:: Monaco's icon font is a file; GraphiQL's stylesheet embeds its
 *   fonts as data: URLs.
 * - img-src 'self' data:: GraphiQL's stylesheet draws a few icons as data: URLs.
 * - worker-src 'self': Monaco's language services run in web workers, served as files.
 * - connect-src 'self' plus ws:/wss: to this host: queries go to /graphql (POST) and
 *   subscriptions to the same URL over graphql-ws (not every browser counts a WebSocket to
 *   its own host as 'self').
 * The rest is shut: no plugins, no <base>, no forms posted anywhere, no framing.
 */
export function explorerPolicy(host: string | undefined): string {
  const sockets = host && HOST.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    "worker-src 'self'",
    `connect-src 'self'${sockets}`,
    "manifest-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Every header of the page besides its type and length. */
export function pageHeaders(host: string | undefined): Record<string, string> {
  return {
    "content-security-policy": explorerPolicy(host),
    // The page is small and names the current bundle: always asked again, cheap to answer.
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
  };
}
