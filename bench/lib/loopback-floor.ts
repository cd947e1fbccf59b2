/**
 * What this machine charges for a hop, measured in the same run as a benchmark: a keep-alive
 * HTTP round trip to a bare server in another process, back to back (the processes stay
 * awake) and paced (the server sleeps between requests, as a service does between a few
 * players' requests), and a chain of `hops` paced round trips, each to the next of four
 * server processes, as many sequential hops as the path being measured crosses. On a
 * virtual machine whose idle vCPUs halt, waking a process costs far more than the round trip
 * itself; the chain is the latency no design with that many hops gets below here.
 */
import { fork, type ChildProcess } from "node:child_process";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { quantile, round } from "./report";

export type LoopbackFloor = {
  backToBack: { p50Ms: number; p99Ms: number };
  paced: { p50Ms: number; p99Ms: number };
  chain: { hops: number; p50Ms: number; p99Ms: number };
};

/**
 * Sequential round trips between processes on a message's way from its send to a member's
 * socket, for the machine's floor: gateway → Redis three times (the address's, the user's and
 * the cost's rate limits), gateway → realtime, realtime → campaign (may this author post),
 * campaign → PostgreSQL, realtime → PostgreSQL (the message and its event), the relay →
 * PostgreSQL (claim) and → Redis (publish), gateway → realtime (the message for the room),
 * realtime → PostgreSQL; and three one-way legs (the send, pub/sub, the socket) as one and a half.
 */
export const CHAT_PATH_ROUND_TRIPS = 12;

const SERVERS = 4;
const PACE_MS = 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(__dirname, "echo-server.ts"), [], { execArgv: ["--require", require.resolve("tsx/cjs")], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`echo server exited with ${code}`)));
  });
  return { child, port };
}

/** Measures the floor with `hops` hops per chain; takes about (samples × (hops + 2) × 20 ms). */
export async function measureLoopbackFloor(hops: number, samples = 100): Promise<LoopbackFloor> {
  const servers = await Promise.all(Array.from({ length: SERVERS }, startServer));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const roundTrip = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const req = request({ host: "127.0.0.1", port, method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        res.on("end", () => resolve(performance.now() - started));
      });
      req.on("error", reject);
      req.end('{"query":"{ __typename }"}');
    });
  const figures = (times: number[]) => ({ p50Ms: round(quantile(times, 0.5)), p99Ms: round(quantile(times, 0.99)) });
  try {
    const port = servers[0]!.port;
    for (let i = 0; i < 50; i++) await roundTrip(port); // JIT and connections
    const backToBack: number[] = [];
    for (let i = 0; i < samples * 5; i++) backToBack.push(await roundTrip(port));
    const paced: number[] = [];
    for (let i = 0; i < samples; i++) {
      await sleep(PACE_MS);
      paced.push(await roundTrip(port));
    }
    const chains: number[] = [];
    for (let i = 0; i < samples; i++) {
      await sleep(PACE_MS);
      const started = performance.now();
      for (let hop = 0; hop < hops; hop++) await roundTrip(servers[(i + hop) % SERVERS]!.port);
      chains.push(performance.now() - started);
    }
    return { backToBack: figures(backToBack), paced: figures(paced), chain: { hops, ...figures(chains) } };
  } finally {
    agent.destroy();
    for (const { child } of servers) child.kill();
  }
}

export const describeFloor = (floor: LoopbackFloor): string =>
  `this machine's loopback round trip to another process: p50 ${floor.backToBack.p50Ms} / p99 ${floor.backToBack.p99Ms} ms back to back, ` +
  `${floor.paced.p50Ms} / ${floor.paced.p99Ms} ms to a process that was idle; ${floor.chain.hops} such hops in a row: p50 ${floor.chain.p50Ms} / p99 ${floor.chain.p99Ms} ms`;
