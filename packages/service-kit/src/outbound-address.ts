import { isIP } from "node:net";

/**
 * What a URL someone else gave us (an AI vendor's base URL, a browser's push endpoint) may
 * point at, for the requests our services then send to it: never cloud metadata or link-local
 * addresses (they answer with credentials: SSRF), loopback outside production only. Each
 * caller checks its URL's host with these when the URL is given, and again on every address
 * the host resolves to when it sends (a name can be pointed elsewhere later).
 */

/** Hosts that answer with cloud credentials or instance data. */
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

/** A host as compared: lower case, without IPv6 brackets or a trailing dot. */
const bare = (host: string) => host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");

export function isLoopback(host: string): boolean {
  const lower = bare(host);
  if (lower === "localhost" || lower.endsWith(".localhost") || lower === "::1") return true;
  return ipv4Parts(embeddedIpv4(lower) ?? lower)?.[0] === 127;
}

/** Metadata hosts, link-local and unspecified addresses (IPv4 or IPv6, mapped forms included). */
export function isForbiddenAddress(host: string): boolean {
  const lower = bare(host);
  if (METADATA_HOSTS.has(lower)) return true;
  const v4 = ipv4Parts(embeddedIpv4(lower) ?? lower);
  if (v4) {
    const [a, b, c, d] = v4 as [number, number, number, number];
    // Link-local (AWS, GCP and Azure metadata), Alibaba's metadata, "this network".
    return (a === 169 && b === 254) || (a === 100 && b === 100 && c === 100 && d === 200) || a === 0;
  }
  // fe80::/10 link-local, AWS metadata over IPv6, unspecified.
  return isIP(lower) === 6 && (/^fe[89ab][0-9a-f]?:/.test(lower) || lower === "fd00:ec2::254" || lower === "::");
}

/** Why an address a host resolved to is refused for an outbound request, or null. */
export function checkResolvedAddress(address: string, env: { production: boolean }): string | null {
  if (isForbiddenAddress(address)) return "resolves to a link-local or metadata address";
  if (env.production && isLoopback(address)) return "resolves to loopback in production";
  return null;
}
