import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** One request the receiver got, as it arrived: the headers (lower case) and the raw body, the bytes a signature covers. */
export type ReceivedWebhook = { path: string; headers: Record<string, string>; body: string; answeredWith: number | "timeout" };

/** How the receiver answers a path's next requests, in order; then 204. "timeout" never answers (until the client gives up). */
export type WebhookAnswer = number | "timeout";

export type FakeWebhookReceiver = {
  /** The receiver's origin; a webhook URL is `${origin}/<any path>` (one path per test keeps tests apart). */
  origin: string;
  /** Every request, in arrival order. */
  requests: ReceivedWebhook[];
  requestsTo(path: string): ReceivedWebhook[];
  /** Answers the path's next requests with these, in order (e.g. 500, 503 then the default 204; or 410). */
  answer(path: string, ...answers: WebhookAnswer[]): void;
  /** Answers every request to the path with this from now on (e.g. 410). */
  always(path: string, answer: WebhookAnswer): void;
  stop(): Promise<void>;
};

/**
 * A real HTTP server on loopback standing in for an operator's tool: records each request and
 * answers what it was told to, path by path.
 */
export async function startFakeWebhookReceiver(): Promise<FakeWebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  const queued = new Map<string, WebhookAnswer[]>();
  const fixed = new Map<string, WebhookAnswer>();
  const sockets = new Set<Socket>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = new URL(req.url ?? "/", "http://receiver").pathname;
      const answer = queued.get(path)?.shift() ?? fixed.get(path) ?? 204;
      const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : (value ?? "")]));
      requests.push({ path, headers, body: Buffer.concat(chunks).toString("utf8"), answeredWith: answer });
      if (answer === "timeout") return;
      res.writeHead(answer, { "content-type": "text/plain" }).end(answer >= 400 ? `refused with ${answer}: ${"x".repeat(1000)}` : "ok");
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (path) => requests.filter((request) => request.path === path),
    answer(path, ...answers) {
      queued.set(path, [...(queued.get(path) ?? []), ...answers]);
    },
    always(path, answer) {
      fixed.set(path, answer);
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
