import type { IncomingMessage } from "node:http";
import { clientAddress, rateLimitKeyOf } from "../../gateway/src/client-address";

const request = (remoteAddress: string, forwardedFor?: string | string[]) =>
  ({ socket: { remoteAddress }, headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor } }) as unknown as IncomingMessage;

describe("clientAddress: who per-address rate limits charge", () => {
  it("is the socket's peer, and ignores X-Forwarded-For unless proxies are trusted", () => {
    expect(clientAddress(request("203.0.113.7"), 0)).toBe("203.0.113.7");
    expect(clientAddress(request("203.0.113.7", "198.51.100.1"), 0)).toBe("203.0.113.7");
  });

  it("behind one trusted proxy, is the entry that proxy appended, not what the client wrote", () => {
    expect(clientAddress(request("10.0.0.2", "198.51.100.1"), 1)).toBe("198.51.100.1");
    // The client sent "X-Forwarded-For: 1.2.3.4" itself; the proxy appended the real address.
    expect(clientAddress(request("10.0.0.2", "1.2.3.4, 198.51.100.1"), 1)).toBe("198.51.100.1");
    expect(clientAddress(request("10.0.0.2", ["1.2.3.4", "198.51.100.1"]), 1)).toBe("198.51.100.1");
  });

  it("behind two trusted proxies, counts two hops back", () => {
    expect(clientAddress(request("10.0.0.3", "1.2.3.4, 198.51.100.1, 10.0.0.2"), 2)).toBe("198.51.100.1");
  });

  it("accepts entries with ports, and falls back to the peer for garbage or a short chain", () => {
    expect(clientAddress(request("10.0.0.2", "198.51.100.1:4711"), 1)).toBe("198.51.100.1");
    expect(clientAddress(request("10.0.0.2", "[2001:db8::1]:4711"), 1)).toBe("2001:db8:0:0::/64");
    expect(clientAddress(request("10.0.0.2", "unknown"), 1)).toBe("10.0.0.2");
    expect(clientAddress(request("10.0.0.2"), 1)).toBe("10.0.0.2");
  });
});

describe("rateLimitKeyOf", () => {
  it("keeps IPv4, unwraps IPv4-mapped IPv6", () => {
    expect(rateLimitKeyOf("192.0.2.10")).toBe("192.0.2.10");
    expect(rateLimitKeyOf("::ffff:192.0.2.10")).toBe("192.0.2.10");
  });

  it("groups IPv6 by /64, however the address is written", () => {
    const expected = "2001:db8:abcd:12::/64";
    for (const address of ["2001:db8:abcd:12::1", "2001:0db8:abcd:0012:ffff:0:0:1", "2001:DB8:ABCD:12:1:2:3:4", "2001:db8:abcd:12::1%eth0"]) {
      expect(rateLimitKeyOf(address)).toBe(expected);
    }
    expect(rateLimitKeyOf("2001:db8:abcd:13::1")).not.toBe(expected);
    expect(rateLimitKeyOf("::1")).toBe("0:0:0:0::/64");
    expect(rateLimitKeyOf("64:ff9b::192.0.2.33")).toBe("64:ff9b:0:0::/64");
  });
});
