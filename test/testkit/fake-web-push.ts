import { createECDH, createPublicKey, hkdfSync, createDecipheriv, randomBytes, randomUUID, verify, type ECDH } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** A browser's side of one subscription: what it registers (endpoint, keys) and the private half only it holds. */
export type FakeBrowser = { endpoint: string; keys: { p256dh: string; auth: string }; ecdh: ECDH; authSecret: Buffer };

/** A message the push service accepted, decrypted as the browser would. */
export type WebPushed = { endpoint: string; plaintext: string; json: unknown; ttl: number; urgency: string | null; vapidKey: string; jwt: Record<string, unknown> };

/** What the service answers an endpoint's next requests with, in order; then it accepts. */
export type WebPushAnswer = { status: number; retryAfter?: string };

export type FakeWebPush = {
  /** The service's origin (a VAPID JWT's `aud`). */
  origin: string;
  /** Accepted messages, in the order they arrived. */
  messages: WebPushed[];
  /** Requests per endpoint path, accepted or not. */
  requests: Map<string, number>;
  /** Requests refused for breaking the protocol, with why (a test expecting none asserts it is empty). */
  violations: string[];
  /** TCP connections clients opened (a client that reuses its connections opens few). */
  connections: number;
  /** A new subscription, as a browser's pushManager.subscribe would make one: P-256 keys and 16 random auth bytes. */
  subscribe(): FakeBrowser;
  /** Answers the endpoint's next requests with these, in order. */
  answer(endpoint: string, ...answers: WebPushAnswer[]): void;
  requestsTo(endpoint: string): number;
  /** Resolves once `count` messages reached `endpoint`. */
  waitFor(endpoint: string, count: number, timeoutMs?: number): Promise<WebPushed[]>;
  stop(): Promise<void>;
};

const b64url = (value: string) => Buffer.from(value, "base64url");

/** The JWT's claims when its ES256 signature verifies with the uncompressed P-256 key `k`, else why not. */
function verifyVapid(jwt: string, k: string): { claims: Record<string, unknown> } | { error: string } {
  const [header, payload, signature] = jwt.split(".");
  if (!header || !payload || !signature) return { error: "JWT is not three parts" };
  const alg = (JSON.parse(b64url(header).toString("utf8")) as { alg?: string }).alg;
  if (alg !== "ES256") return { error: `JWT alg ${alg}, not ES256` };
  const point = b64url(k);
  if (point.length !== 65 || point[0] !== 0x04) return { error: "k is not an uncompressed P-256 point" };
  const key = createPublicKey({ key: { kty: "EC", crv: "P-256", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") }, format: "jwk" });
  // JWS ES256 signatures are r || s (IEEE P1363), not DER.
  const ok = verify("sha256", Buffer.from(`${header}.${payload}`), { key, dsaEncoding: "ieee-p1363" }, b64url(signature));
  if (!ok) return { error: "JWT signature does not verify with k" };
  return { claims: JSON.parse(b64url(payload).toString("utf8")) as Record<string, unknown> };
}

/**
 * Decrypts an aes128gcm body (RFC 8188) as RFC 8291 §3.4 has the user agent do it: the ECDH
 * secret of the browser's key and the sender's (the header's key id), the auth secret as
 * HKDF salt, then the content key and nonce from the body's salt. One record (RFC 8291 §4).
 */
function decrypt(body: Buffer, browser: { ecdh: ECDH; authSecret: Buffer }): string {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const senderKey = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  if (idLength !== 65) throw new Error(`key id of ${idLength} bytes, not a P-256 point`);
  if (record.length > recordSize) throw new Error("more than one record");
  const secret = browser.ecdh.computeSecret(senderKey);
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), browser.ecdh.getPublicKey(), senderKey]);
  const ikm = Buffer.from(hkdfSync("sha256", secret, browser.authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 2, then any zero padding (RFC 8188 §2).
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("no last-record delimiter");
  return padded.subarray(0, end).toString("utf8");
}

/**
 * A push service on loopback speaking the Web Push protocol (RFC 8030): each subscription an
 * endpoint `POST /push/<id>`, answered 201 with a Location. It checks what a real one checks:
 * VAPID (RFC 8292: `Authorization: vapid t=<JWT>, k=<key>`, an ES256 JWT over that key whose
 * `aud` is this origin, `exp` within 24 hours, a `sub`), `Content-Encoding: aes128gcm`, a `TTL`,
 * at most 4096 bytes of body, and that the body decrypts (RFC 8291) for the subscription's
 * keys, recording the plaintext. Unknown endpoints are 404; `answer` injects others.
 */
export async function startFakeWebPush(options: { vapidPublicKey?: string } = {}): Promise<FakeWebPush> {
  const browsers = new Map<string, FakeBrowser>();
  const answers = new Map<string, WebPushAnswer[]>();
  const waiters: { path: string; count: number; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();
  const fake = { messages: [] as WebPushed[], requests: new Map<string, number>(), violations: [] as string[], connections: 0 } as FakeWebPush;
  const pathOf = (endpoint: string) => new URL(endpoint, fake.origin).pathname;

  const refuse = (res: ServerResponse, status: number, why: string) => {
    fake.violations.push(why);
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(why);
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? "";
    fake.requests.set(path, (fake.requests.get(path) ?? 0) + 1);
    const browser = browsers.get(path);
    if (req.method !== "POST" || !browser) return void res.writeHead(404).end();
    const injected = answers.get(path)?.shift();
    if (injected) return void res.writeHead(injected.status, injected.retryAfter ? { "retry-after": injected.retryAfter } : {}).end();

    const vapid = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(req.headers.authorization ?? "");
    if (!vapid) return refuse(res, 401, `no VAPID authorization: ${req.headers.authorization}`);
    const [, jwt, k] = vapid as unknown as [string, string, string];
    if (options.vapidPublicKey && k !== options.vapidPublicKey) return refuse(res, 403, "VAPID key is not the one the subscription was made with");
    const verified = verifyVapid(jwt, k);
    if ("error" in verified) return refuse(res, 403, verified.error);
    const { aud, exp, sub } = verified.claims;
    const now = Date.now() / 1000;
    if (aud !== fake.origin) return refuse(res, 403, `JWT aud ${String(aud)}, not ${fake.origin}`);
    if (typeof exp !== "number" || exp <= now || exp > now + 86_400) return refuse(res, 403, `JWT exp ${String(exp)} not within 24 h`);
    if (typeof sub !== "string" || !/^(mailto:|https:)/.test(sub)) return refuse(res, 403, `JWT sub ${String(sub)}`);
    if (req.headers["content-encoding"] !== "aes128gcm") return refuse(res, 415, `Content-Encoding ${req.headers["content-encoding"]}`);
    const ttl = Number(req.headers.ttl);
    if (req.headers.ttl === undefined || !Number.isInteger(ttl) || ttl < 0) return refuse(res, 400, `TTL ${req.headers.ttl}`);
    if (body.length > 4096) return refuse(res, 413, `body of ${body.length} bytes`);
    let plaintext: string;
    try {
      plaintext = decrypt(body, browser);
    } catch (error) {
      return refuse(res, 400, `does not decrypt: ${(error as Error).message}`);
    }
    let json: unknown = null;
    try {
      json = JSON.parse(plaintext);
    } catch {
      // Not JSON: kept as text.
    }
    const urgency = typeof req.headers.urgency === "string" ? req.headers.urgency : null;
    fake.messages.push({ endpoint: browser.endpoint, plaintext, json, ttl, urgency, vapidKey: k, jwt: verified.claims });
    res.writeHead(201, { location: `${fake.origin}/messages/${randomUUID()}` }).end();
    for (const waiter of waiters.filter((w) => w.path === path && fake.messages.filter((m) => pathOf(m.endpoint) === path).length >= w.count)) waiter.resolve();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => refuse(res, 500, (error as Error).message));
  });
  server.on("connection", (socket) => {
    fake.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  fake.subscribe = () => {
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    const browser: FakeBrowser = {
      endpoint: `${fake.origin}/push/${randomUUID()}`,
      keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: authSecret.toString("base64url") },
      ecdh,
      authSecret,
    };
    browsers.set(pathOf(browser.endpoint), browser);
    return browser;
  };
  fake.answer = (endpoint, ...list) => answers.set(pathOf(endpoint), [...(answers.get(pathOf(endpoint)) ?? []), ...list]);
  fake.requestsTo = (endpoint) => fake.requests.get(pathOf(endpoint)) ?? 0;
  fake.waitFor = (endpoint, count, timeoutMs = 15_000) => {
    const path = pathOf(endpoint);
    const got = () => fake.messages.filter((m) => pathOf(m.endpoint) === path);
    return new Promise((resolve, reject) => {
      if (got().length >= count) return resolve(got().slice(0, count));
      const timer = setTimeout(() => reject(new Error(`${endpoint} got ${got().length} of ${count} messages in ${timeoutMs} ms (violations: ${fake.violations.join("; ") || "none"})`)), timeoutMs);
      waiters.push({ path, count, resolve: () => (clearTimeout(timer), resolve(got().slice(0, count))) });
    });
  };
  fake.stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return fake;
}
