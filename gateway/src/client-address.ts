import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

/**
 * The caller's address, as per-IP rate limits see it. With `trustedProxies` reverse proxies
 * in front (TRUST_PROXY), it is the X-Forwarded-For entry the outermost trusted proxy
 * appended; entries further left are whatever the client wrote, so they are never believed.
 * With 0 (the default) the header is ignored: anyone could send one.
 */
export function clientAddress(req: IncomingMessage, trustedProxies: number): string {
  const peer = req.socket.remoteAddress ?? "unknown";
  if (trustedProxies > 0) {
    const header = req.headers["x-forwarded-for"];
    const forwarded = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map((entry) => entry.trim()).filter(Boolean);
    // Hop order: client, proxies…, then our socket peer (the nearest proxy).
    const chain = [...forwarded, peer];
    const claimed = stripPort(chain[Math.max(0, chain.length - 1 - trustedProxies)] ?? "");
    if (isIP(claimed)) return rateLimitKeyOf(claimed);
  }
  return rateLimitKeyOf(peer);
}

/** "1.2.3.4:5678" and "[::1]:5678" as some proxies write them; bare addresses unchanged. */
function stripPort(entry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed?.[1]) return bracketed[1];
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  return v4WithPort?.[1] ?? entry;
}

/**
 * IPv4 as is (IPv4-mapped IPv6 unwrapped); IPv6 by its /64, since one subscriber usually
 * holds a whole /64 and could otherwise rotate through addresses to dodge the limit.
 */
export function rateLimitKeyOf(address: string): string {
  const unzoned = address.split("%")[0] ?? address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(unzoned);
  if (mapped?.[1]) return mapped[1];
  if (isIP(unzoned) !== 6) return unzoned;
  return `${ipv6Groups(unzoned).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, "::" expanded, as lower-case hex. */
function ipv6Groups(address: string): string[] {
  const [head = "", tail] = address.split("::");
  const parts = (text: string) => (text ? text.split(":") : []);
  const groupsOf = (text: string) =>
    parts(text).flatMap((part) => {
      if (!part.includes(".")) return [part];
      const [a = 0, b = 0, c = 0, d = 0] = part.split(".").map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16).toString(16));
}
