import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { checkResolvedAddress, parseRetryAfter } from "@startales/service-kit";
import webpush from "web-push";
import type { WebPushSettings } from "../config";
import { checkEndpoint } from "../domain/web-push-endpoint";
import type { PushOutcome } from "./push-client";

/** A browser's subscription as registered (registerWebPushSubscription). */
export type WebPushSubscription = { endpoint: string; p256dh: string; auth: string };

export type WebPushClient = { send(subscription: WebPushSubscription, payload: string): Promise<PushOutcome>; close(): void };

/**
 * The largest plaintext one aes128gcm record carries within the 4096 bytes of body every push
 * service must accept (RFC 8030 §7.2): 4096 − 86 (salt, record size, key id: RFC 8188 §2.1) −
 * 16 (the GCM tag) − 1 (the padding delimiter).
 */
export const MAX_WEB_PUSH_PLAINTEXT = 4096 - 86 - 16 - 1;

/** Connections kept open per push service origin per worker process (FCM's MAX_SOCKETS). */
const MAX_SOCKETS = 64;

/** A VAPID JWT lives 12 hours (RFC 8292 allows 24); it is renewed once it has less than one left. */
const JWT_LIFETIME_S = 12 * 3600;
const JWT_RENEW_S = 3600;

type Answer = { status: number; retryAfter: string | null; location: string | null };

/**
 * The Web Push protocol (RFC 8030) to browsers' push services: each payload encrypted for its
 * subscription (RFC 8291, aes128gcm) and signed with our VAPID key (RFC 8292), both by the
 * `web-push` library; the requests are ours, over keep-alive agents, because web-push's own
 * sender speaks https only and opens what its caller's agent allows. A campaign's fan-out is
 * thousands of messages to a few origins (FCM's, Mozilla's, Apple's): the VAPID JWT is made
 * once per origin and reused until it nears its end, rather than signed per message.
 * 404 and 410 mean the subscription is gone for good; 429, 5xx, 401/403 (our key, which an
 * operator can fix), timeouts and network errors are worth another attempt, as with FCM.
 */
export function createWebPushClient(settings: WebPushSettings, options: { timeoutMs: number; production: boolean }): WebPushClient {
  const env = { production: options.production };
  // Every address a subscription's host resolves to is checked as its URL was at registration:
  // DNS may point a harmless name at a metadata address since.
  const lookup = (hostname: string, lookupOptions: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) =>
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, "");
      const refused = addresses.map((a) => checkResolvedAddress(a.address, env)).find((why) => why !== null);
      if (refused) return callback(Object.assign(new Error(`push endpoint ${hostname} ${refused}`), { code: "EREFUSED_ADDRESS" }), "");
      if (lookupOptions.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  const agents = {
    "https:": new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, lookup }),
    "http:": new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, lookup }),
  };
  const jwts = new Map<string, { authorization: string; expiresAt: number }>();

  /** The Authorization header for a push service origin (`aud`). */
  const vapidFor = (origin: string) => {
    const now = Math.floor(Date.now() / 1000);
    const cached = jwts.get(origin);
    if (cached && cached.expiresAt - now > JWT_RENEW_S) return cached.authorization;
    const expiresAt = now + JWT_LIFETIME_S;
    const { Authorization } = webpush.getVapidHeaders(origin, settings.subject, settings.publicKey, settings.privateKey, "aes128gcm", expiresAt);
    jwts.set(origin, { authorization: Authorization, expiresAt });
    return Authorization;
  };

  const post = (url: URL, headers: Record<string, string | number>, body: Buffer) =>
    new Promise<Answer>((resolve, reject) => {
      const transport = url.protocol === "https:" ? https : http;
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      const request = transport.request(url, { method: "POST", agent: agents[url.protocol as keyof typeof agents], headers }, (res) => {
        // The body (an error's description at most) is not needed: the status decides.
        res.resume();
        res.on("end", () => {
          clearTimeout(timer);
          const header = (name: string) => (typeof res.headers[name] === "string" ? (res.headers[name] as string) : null);
          resolve({ status: res.statusCode ?? 0, retryAfter: header("retry-after"), location: header("location") });
        });
        res.on("error", fail);
      });
      const timer = setTimeout(() => request.destroy(Object.assign(new Error("push service timed out"), { name: "TimeoutError" })), options.timeoutMs);
      request.on("error", fail);
      request.end(body);
    });

  return {
    async send(subscription, payload) {
      // Registration checked it; production may have been turned on since, or the rules tightened.
      const refused = checkEndpoint(subscription.endpoint, env);
      if (refused) return { kind: "unregistered", code: "WEB_PUSH_ENDPOINT_REFUSED" };
      const url = new URL(subscription.endpoint);
      let body: Buffer;
      try {
        body = webpush.encrypt(subscription.p256dh, subscription.auth, payload, "aes128gcm").cipherText;
      } catch {
        // Keys checked at registration but refused by the cipher: nothing can ever be sent to it.
        return { kind: "unregistered", code: "WEB_PUSH_BAD_KEYS" };
      }
      let res: Answer;
      try {
        res = await post(
          url,
          {
            "content-type": "application/octet-stream",
            "content-encoding": "aes128gcm",
            "content-length": body.length,
            ttl: settings.ttlSeconds,
            urgency: settings.urgency,
            authorization: vapidFor(url.origin),
          },
          body,
        );
      } catch (error) {
        return { kind: "retry", code: (error as Error).name === "TimeoutError" ? "TIMEOUT" : "UNREACHABLE", retryAfterMs: null };
      }
      const code = `WEB_PUSH_HTTP_${res.status}`;
      if (res.status >= 200 && res.status < 300) return { kind: "sent", messageId: res.location ?? `web-push:${res.status}` };
      if (res.status === 404 || res.status === 410) return { kind: "unregistered", code };
      if (res.status === 429 || res.status >= 500 || res.status === 401 || res.status === 403) {
        return { kind: "retry", code, retryAfterMs: parseRetryAfter(res.retryAfter) };
      }
      return { kind: "rejected", code };
    },
    /** Closes the pooled connections (the worker pool's stop). */
    close() {
      agents["https:"].destroy();
      agents["http:"].destroy();
    },
  };
}

/**
 * What a browser's service worker gets (its `push` event's `data.json()`): the notification's
 * title and body, what to open, and the sender's data. A body too long for one record is cut
 * (the inbox has it whole); should the sender's data alone not fit, it is left out and the
 * client reads the notification by id.
 */
export function webPushPayload(message: { notificationId: string; category: string; campaignId: string | null; title: string; body: string; data: unknown }): string {
  const of = (body: string, data: unknown) =>
    JSON.stringify({
      title: message.title,
      body,
      notificationId: message.notificationId,
      category: message.category,
      ...(message.campaignId ? { campaignId: message.campaignId } : {}),
      ...(data === undefined ? { truncated: true } : { data }),
    });
  const fits = (text: string) => Buffer.byteLength(text) <= MAX_WEB_PUSH_PLAINTEXT;
  const whole = of(message.body, message.data);
  if (fits(whole)) return whole;
  // The longest prefix of the body (whole code points, with an ellipsis) that fits.
  const chars = [...message.body];
  let [low, high] = [0, chars.length - 1];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(of(`${chars.slice(0, mid).join("")}…`, message.data))) low = mid;
    else high = mid - 1;
  }
  const cut = of(`${chars.slice(0, low).join("")}…`, message.data);
  return fits(cut) ? cut : of(`${chars.slice(0, 200).join("")}${chars.length > 200 ? "…" : ""}`, undefined);
}
