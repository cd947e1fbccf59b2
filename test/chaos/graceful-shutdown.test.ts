import { randomUUID } from "node:crypto";
import { Agent, request, type IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import pg from "pg";
import { startBuiltProcess, type BuiltProcess } from "../testkit/built-process";
import { testEnv } from "../testkit/config";
import { privateDatabase } from "../testkit/databases";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { eventually } from "../testkit/simulation";

/**
 * SIGTERM to a subgraph process that keep-alive clients (the gateway's connection pool)
 * hold connections to: the idle ones are closed at once, the request in flight still gets
 * its answer (with Connection: close), and the process exits as soon as that is done, long
 * before its grace period. The request is held in flight by a lock the test takes on the
 * process's own database (the suite's own, so no other suite waits on it).
 */

const GRACE_MS = 60_000;
/** Far below the grace period, far above what draining one request takes. */
const PROMPTLY_MS = 15_000;

type Reply = { status: number; headers: IncomingHttpHeaders; body: string; socket: Socket };

function send(origin: string, options: { method: string; path: string; headers?: Record<string, string>; body?: string; agent: Agent }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(options.path, origin), { method: options.method, headers: options.headers, agent: options.agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket: req.socket as Socket }));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("a subgraph process on SIGTERM with keep-alive clients", () => {
  let database: Awaited<ReturnType<typeof privateDatabase>>;
  let admin: pg.Client;
  let proc: BuiltProcess | undefined;
  const agents: Agent[] = [];

  beforeAll(async () => {
    database = await privateDatabase("campaign", "shutdown");
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });
  afterAll(async () => {
    agents.forEach((agent) => agent.destroy());
    if (proc?.child.exitCode === null) await proc.kill("SIGKILL");
    await admin.end();
    await database.drop();
  });

  it("closes idle connections at once, answers the request in flight, and exits long before the grace period", async () => {
    proc = startBuiltProcess(
      "subgraphs/campaign/dist/main.js",
      testEnv({ LOG_LEVEL: "info", DATABASE_URL: database.url, SHUTDOWN_GRACE_MS: String(GRACE_MS) }),
    );
    const listening = proc.waitForLog((entry) => entry.msg === "listening", 30_000);
    const origin = String((await listening).url);
    const exited = new Promise<number | null>((resolve) => proc?.child.once("exit", (code) => resolve(code)));
    const keepAlive = () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      return agent;
    };

    const idle = await send(origin, { method: "GET", path: "/health/live", agent: keepAlive() });
    expect(idle).toMatchObject({ status: 200, headers: { connection: "keep-alive" } });

    await admin.query("BEGIN");
    await admin.query("LOCK TABLE campaigns, memberships IN ACCESS EXCLUSIVE MODE");
    const inFlight = send(origin, {
      method: "POST",
      path: "/graphql",
      headers: { "content-type": "application/json", ...(await gatewayHeaders(asUser(randomUUID()))) },
      body: JSON.stringify({ query: "{ myCampaigns { id } }" }),
      agent: keepAlive(),
    });
    await eventually("the request to wait on the lock", async () => {
      // Inside a transaction, pg_stat_activity keeps its first snapshot unless told otherwise.
      await admin.query("SELECT pg_stat_clear_snapshot()");
      const { rows } = await admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      return rows.length > 0 ? true : undefined;
    });

    const shuttingDown = proc.waitForLog((entry) => entry.msg === "shutting down");
    proc.child.kill("SIGTERM");
    const signalled = Date.now();
    await shuttingDown;
    await within(PROMPTLY_MS, "closing the idle keep-alive connection", closed(idle.socket));

    await admin.query("ROLLBACK");
    const answer = await inFlight;
    expect(answer).toMatchObject({ status: 200, headers: { connection: "close" } });
    expect(JSON.parse(answer.body)).toEqual({ data: { myCampaigns: [] } });

    expect(await within(PROMPTLY_MS, "the process to exit", exited)).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(PROMPTLY_MS);
  });
});
