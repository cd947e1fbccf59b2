import { Agent, request, type IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { createHttpService, type HttpService } from "../../packages/service-kit/src/http-server";
import { createLogger } from "../../packages/service-kit/src/logger";
import { createMetrics } from "../../packages/service-kit/src/metrics";

/**
 * Stopping a server with keep-alive clients: idle connections close at once, requests in
 * flight get their answer with `Connection: close` and their sockets close after it, and the
 * close is done as soon as they are, not when the (long) grace period runs out.
 */

const GRACE_MS = 60_000;
/** Far below the grace period, far above what closing takes. */
const PROMPTLY_MS = 5_000;

type Gate = { entered: Promise<void>; release: () => void };
function gate(): Gate & { enter: () => Promise<void> } {
  let entered!: () => void;
  let release!: () => void;
  const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    entered: enteredPromise,
    release,
    enter: () => {
      entered();
      return released;
    },
  };
}

type Reply = { status: number; headers: IncomingHttpHeaders; body: string; socket: Socket };

function get(port: number, path: string, agent: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket: req.socket as Socket }));
    });
    req.on("error", reject);
    req.end();
  });
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("closing an HTTP service with keep-alive clients", () => {
  let service: HttpService;
  let port: number;
  let slow: ReturnType<typeof gate>;
  let streaming: ReturnType<typeof gate>;
  const agents: Agent[] = [];
  const keepAliveAgent = () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    return agent;
  };

  beforeEach(async () => {
    slow = gate();
    streaming = gate();
    service = createHttpService({
      logger: createLogger("test", "silent"),
      metrics: createMetrics("graceful_close_test"),
      readiness: [],
      routes: {
        "/slow": async (_req, res) => {
          await slow.enter();
          res.end("slow done");
        },
        // Headers (and a first chunk) are out before the close begins.
        "/streaming": async (_req, res) => {
          res.writeHead(200, { "content-type": "text/plain" });
          res.write("first ");
          await streaming.enter();
          res.end("last");
        },
      },
      fallback: (_req, res) => void res.end("fast"),
    });
    port = Number(new URL(await service.listen(0, "127.0.0.1")).port);
  });
  afterEach(async () => {
    slow.release();
    streaming.release();
    agents.splice(0).forEach((agent) => agent.destroy());
    await service.close(0);
  });

  it("closes idle connections at once and answers a request in flight with Connection: close, then is done", async () => {
    const idle = await get(port, "/fast", keepAliveAgent());
    expect(idle.headers.connection).toBe("keep-alive");
    const inFlight = get(port, "/slow", keepAliveAgent());
    await slow.entered;

    const closing = service.close(GRACE_MS);
    await within(PROMPTLY_MS, "closing the idle connection", closed(idle.socket));
    slow.release();
    const answer = await inFlight;
    expect(answer).toMatchObject({ status: 200, body: "slow done" });
    expect(answer.headers.connection).toBe("close");
    await within(PROMPTLY_MS, "closing the answered connection", closed(answer.socket));
    await within(PROMPTLY_MS, "close()", closing);
  });

  it("closes a connection whose response had started before the close, once it ends", async () => {
    const inFlight = get(port, "/streaming", keepAliveAgent());
    await streaming.entered;

    const closing = service.close(GRACE_MS);
    streaming.release();
    const answer = await inFlight;
    expect(answer).toMatchObject({ status: 200, body: "first last" });
    await within(PROMPTLY_MS, "closing the answered connection", closed(answer.socket));
    await within(PROMPTLY_MS, "close()", closing);
  });
});
