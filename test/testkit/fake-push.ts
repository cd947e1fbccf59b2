import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** A message as the push service accepted it. */
export type PushedMessage = { token: string; title: string; body: string; data: Record<string, string>; messageId: string };

/** What the fake answers the next requests with, in order; then it accepts. */
export type PushBehaviour = { kind: "ok" } | { kind: "status"; status: number; errorCode: string; retryAfter?: string } | { kind: "hang" };

export type FakePush = {
  /** PUSH_URL for the notification service. */
  url: string;
  projectId: string;
  accessToken: string;
  /** Accepted messages, in the order they arrived. */
  messages: PushedMessage[];
  /** Every request, accepted or not. */
  requests: number;
  /** TCP connections clients opened (a client that reuses its connections opens few). */
  connections: number;
  /** Tokens the service answers UNREGISTERED for (an uninstalled app). */
  unregistered: Set<string>;
  /** The token of each request a queued `status` failure answered, in order (concurrent sends take them in no set order). */
  failed: string[];
  queue(...behaviours: PushBehaviour[]): void;
  /** Resolves once `count` messages have been accepted. */
  waitFor(count: number, timeoutMs?: number): Promise<PushedMessage[]>;
  stop(): Promise<void>;
};

const STATUS_NAMES: Record<number, string> = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE" };

/**
 * A push service speaking FCM's HTTP v1 protocol on loopback: `POST
 * /v1/projects/<project>/messages:send` with a bearer token and `{ message: { token,
 * notification: { title, body }, data } }`, answered `{ name: "projects/<p>/messages/<id>" }`
 * or an FCM error (`{ error: { code, message, status, details: [{ errorCode }] } }`). It
 * checks what the real one checks that matters here: the token, the project, the shape and
 * that data values are strings.
 */
/** The message's token, or "" for a body that has none. */
function tokenOf(body: Buffer): string {
  try {
    const token = (JSON.parse(body.toString("utf8")) as { message?: { token?: unknown } }).message?.token;
    return typeof token === "string" ? token : "";
  } catch {
    return "";
  }
}

export async function startFakePush(options: { projectId?: string; accessToken?: string } = {}): Promise<FakePush> {
  const projectId = options.projectId ?? "startales-test";
  const accessToken = options.accessToken ?? "fake-push-access-token-0123456789";
  const pending: PushBehaviour[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();
  let sequence = 0;
  const fake = { projectId, accessToken, messages: [] as PushedMessage[], requests: 0, connections: 0, unregistered: new Set<string>(), failed: [] as string[] } as FakePush;

  const error = (res: ServerResponse, status: number, errorCode: string, message: string, retryAfter?: string) => {
    res.writeHead(status, { "content-type": "application/json", ...(retryAfter ? { "retry-after": retryAfter } : {}) });
    res.end(
      JSON.stringify({
        error: { code: status, message, status: STATUS_NAMES[status] ?? "UNKNOWN", details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] },
      }),
    );
  };

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    fake.requests++;
    if (req.method !== "POST" || req.url !== `/v1/projects/${projectId}/messages:send`) return error(res, 404, "UNSPECIFIED_ERROR", "Not found");
    if (req.headers.authorization !== `Bearer ${accessToken}`) return error(res, 401, "THIRD_PARTY_AUTH_ERROR", "Request had invalid authentication credentials.");
    const behaviour = pending.shift() ?? { kind: "ok" };
    if (behaviour.kind === "hang") return; // the client's timeout ends it
    if (behaviour.kind === "status") {
      fake.failed.push(tokenOf(Buffer.concat(chunks)));
      return error(res, behaviour.status, behaviour.errorCode, "Injected failure", behaviour.retryAfter);
    }
    let message: { token?: unknown; notification?: { title?: unknown; body?: unknown }; data?: Record<string, unknown> } | undefined;
    try {
      message = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { message?: typeof message }).message;
    } catch {
      return error(res, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
    }
    const data = message?.data ?? {};
    if (typeof message?.token !== "string" || typeof message.notification?.title !== "string" || typeof message.notification.body !== "string") {
      return error(res, 400, "INVALID_ARGUMENT", "Invalid value at 'message'");
    }
    if (!Object.values(data).every((value) => typeof value === "string")) return error(res, 400, "INVALID_ARGUMENT", "Invalid value at 'message.data'");
    if (fake.unregistered.has(message.token)) return error(res, 404, "UNREGISTERED", "Requested entity was not found.");
    const messageId = `projects/${projectId}/messages/0:${Date.now()}%${++sequence}`;
    fake.messages.push({ token: message.token, title: message.notification.title, body: message.notification.body, data: data as Record<string, string>, messageId });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ name: messageId }));
    for (const waiter of waiters.filter((w) => fake.messages.length >= w.count)) waiter.resolve();
  });
  server.on("connection", (socket) => {
    fake.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.queue = (...behaviours) => pending.push(...behaviours);
  fake.waitFor = (count, timeoutMs = 15_000) =>
    new Promise((resolve, reject) => {
      if (fake.messages.length >= count) return resolve(fake.messages.slice(0, count));
      const timer = setTimeout(() => reject(new Error(`push service got ${fake.messages.length} of ${count} messages in ${timeoutMs} ms`)), timeoutMs);
      waiters.push({ count, resolve: () => (clearTimeout(timer), resolve(fake.messages.slice(0, count))) });
    });
  fake.stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return fake;
}
