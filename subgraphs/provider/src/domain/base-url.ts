import { isIP } from "node:net";

/** Hosts that answer with cloud credentials or instance data: never a vendor. */
const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"]);

function ipv4Parts(address: string): number[] | null {
  const parts = address.split(".").map(Number);
  return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255) ? parts : null;
}

/**
 * The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d, or ::ffff:a9fe:a9fe as URL parsers
 * write it) or NAT64 (64:ff9b::/96) IPv6 address; null for anything else.
 */
function embeddedIpv4(lower: string): string | null {
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  if (dotted) return dotted;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (!hex) return null;
  const [hi, lo] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Whether an address is link-local or a metadata endpoint (IPv4 or IPv6, mapped forms included). */
export function isForbiddenAddress(address: string): boolean {
  const lower = address.toLowerCase().replace(/^\[|\]$/g, "");
  const v4 = ipv4Parts(embeddedIpv4(lower) ?? lower);
  if (v4) {
    const [a, b] = v4 as [number, number, number, number];
    if (a === 169 && b === 254) return true; // link-local, AWS/GCP/Azure metadata
    if (a === 100 && b === 100 && v4[2] === 100 && v4[3] === 200) return true; // Alibaba metadata
    if (a === 0) return true;
    return false;
  }
  if (isIP(lower) === 6) {
    if (/^fe[89ab][0-9a-f]?:/.test(lower)) return true; // fe80::/10 link-local
    if (lower === "fd00:ec2::254") return true; // AWS metadata over IPv6
    if (lower === "::") return true;
  }
  return false;
}

export function isLoopback(host: string): boolean {
  const lower = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (lower === "localhost" || lower.endsWith(".localhost") || lower === "::1") return true;
  return ipv4Parts(embeddedIpv4(lower) ?? lower)?.[0] === 127;
}

/**
 * Why a vendor base URL is refused, or null when it is acceptable: http(s) only, no
 * credentials in it, never link-local or metadata addresses, loopback outside production only.
 * Hostnames are checked again after DNS resolution when a request is sent (see driver).
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
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (METADATA_HOSTS.has(host) || isForbiddenAddress(host)) return "must not point at link-local or metadata addresses";
  if (isLoopback(host) && env.production) return "must not point at loopback in production";
  return null;
}

/** The same rule for an address a hostname resolved to. */
export function checkResolvedAddress(address: string, env: { production: boolean }): string | null {
  if (isForbiddenAddress(address)) return "resolves to a link-local or metadata address";
  if (isLoopback(address) && env.production) return "resolves to loopback in production";
  return null;
}
