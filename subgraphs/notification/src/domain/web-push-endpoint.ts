import { isForbiddenAddress, isLoopback } from "@startales/service-kit";

/**
 * A browser's push endpoint is a URL a player hands us and the worker pool POSTs to: left
 * unchecked it would be a way to make our network call anything (SSRF). The address rules are
 * the kit's (outbound-address.ts, as for provider's vendor base URLs): https only,
 * plain http and loopback only outside production (development and tests run push services
 * on loopback), never credentials, link-local or cloud metadata addresses; a hostname is
 * checked again on the addresses it resolves to when a push is sent (web-push-client.ts).
 */

/** Why `value` is refused as a push endpoint, or null when a push may be sent to it. */
export function checkEndpoint(value: string, env: { production: boolean }): string | null {
  if (!URL.canParse(value)) return "must be a URL";
  const url = new URL(value);
  const loopback = isLoopback(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback && !env.production)) {
    return env.production ? "must be an https URL" : "must be an https URL (plain http only on loopback)";
  }
  if (url.username || url.password) return "must not contain credentials";
  if (isForbiddenAddress(url.hostname)) return "must not point at link-local or metadata addresses";
  if (loopback && env.production) return "must not point at loopback in production";
  return null;
}
