import { isForbiddenAddress, isLoopback } from "@startales/service-kit";

/**
 * Why a vendor base URL is refused, or null when it is acceptable: http(s) only, no
 * credentials in it, never link-local or metadata addresses, loopback outside production only
 * (the kit's address rules). Hostnames are checked again after DNS resolution when a request
 * is sent (the driver, with the kit's checkResolvedAddress).
 */
export function checkBaseUrl(value: string, env: { production: boolean }): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "must be http or https";
  if (url.username || url.password) return "must not contain credentials (use apiKeyEnv)";
  const host = url.hostname;
  if (isForbiddenAddress(host)) return "must not point at link-local or metadata addresses";
  if (isLoopback(host) && env.production) return "must not point at loopback in production";
  return null;
}
