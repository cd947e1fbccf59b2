import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { checkResolvedAddress, isForbiddenAddress, isLoopback } from "@startales/service-kit";

/**
 * Where a webhook may point. An admin types the URL, but the worker pool POSTs from inside our
 * network, so a URL is a way to make it call anything there (SSRF): metadata and link-local
 * addresses never (the kit's rules), loopback and private networks only when
 * WEBHOOK_ALLOW_PRIVATE_ADDRESSES says so. The host is checked on what it resolves to when the
 * URL is given and again on every send (DNS can be pointed elsewhere in between).
 */
export type AddressRules = { allowPrivate: boolean };

function ipv4(address: string): number[] | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
  const parts = mapped.split(".").map(Number);
  return isIP(mapped) === 4 ? parts : null;
}

/** RFC 1918, carrier-grade NAT, IPv6 unique-local: someone's internal network. */
export function isPrivateAddress(address: string): boolean {
  const v4 = ipv4(address);
  if (v4) {
    const [a, b] = v4 as [number, number];
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  return isIP(address) === 6 && /^f[cd][0-9a-f]{2}:/i.test(address);
}

/** Why a resolved address is refused for a webhook, or null. */
export function checkWebhookAddress(address: string, rules: AddressRules): string | null {
  if (rules.allowPrivate) return checkResolvedAddress(address, { production: false });
  // Outside the allowance loopback is refused as production refuses it.
  const refused = checkResolvedAddress(address, { production: true });
  if (refused) return refused;
  return isPrivateAddress(address) ? "resolves to a private network address" : null;
}

/** Why a URL's host is refused before resolving it (a literal address or a metadata name), or null. */
export function checkWebhookHost(hostname: string, rules: AddressRules): string | null {
  const host = hostname.replace(/^\[|\]$/g, "");
  if (isForbiddenAddress(host)) return "must not point at link-local or metadata addresses";
  if (!rules.allowPrivate && (isLoopback(host) || isPrivateAddress(host))) return "must not point at loopback or private network addresses";
  return null;
}

/** Resolves `hostname` and checks every address; why it is refused, or null. */
export async function checkResolvedHost(hostname: string, rules: AddressRules): Promise<string | null> {
  let addresses: { address: string }[];
  try {
    addresses = await lookup(hostname.replace(/^\[|\]$/g, ""), { all: true });
  } catch {
    return "has a host that does not resolve";
  }
  const refused = addresses.map((a) => checkWebhookAddress(a.address, rules)).find((why) => why !== null);
  return refused ? `has a host that ${refused}` : null;
}
