import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Viewer } from "@startales/service-kit";
import { simulationWorkerTestEnv } from "./config";
import { gatewayHeaders } from "./gateway-identity";
import { expectData, postGraphQL, type GraphQLResponse } from "./graphql-client";

const root = join(__dirname, "..", "..");
const alive = new Set<ChildProcess>();
process.once("exit", () => alive.forEach((child) => child.kill("SIGKILL")));

/** A GraphQL call straight to a subgraph, signed as if it came through the gateway. */
export async function callAs<T = Record<string, unknown>>(url: string, viewer: Viewer, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> {
  return postGraphQL<T>(url, { query, variables }, { headers: await gatewayHeaders(viewer) });
}

export const dataAs = async <T = Record<string, unknown>>(url: string, viewer: Viewer, query: string, variables: Record<string, unknown> = {}) =>
  expectData(await callAs<T>(url, viewer, query, variables));

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export type WorkerProcess = {
  child: ChildProcess;
  /** Resolves with the first log line (parsed JSON) that `match` accepts. */
  waitForLog(match: (entry: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
};

/**
 * The simulation worker pool's entry point (subgraphs/simulation/dist/worker.js, built from
 * src/worker.ts) as its own OS process, as a pod of the worker Deployment.
 */
export async function startWorkerProcess(campaignOrigin: string, env: Record<string, string>): Promise<WorkerProcess> {
  // The built entry point (npm test builds first): no compiling in the child, which under a
  // loaded CI machine took long enough to make the kill test's waits flaky.
  const child = spawn(process.execPath, [join(root, "subgraphs", "simulation", "dist", "worker.js")], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", ...simulationWorkerTestEnv(campaignOrigin, { LOG_LEVEL: "info", WORKER_CONCURRENCY: "2", ...env }) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  alive.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      alive.delete(child);
      resolve(code);
    }),
  );
  const waiters: { match: (entry: Record<string, unknown>) => boolean; resolve: (entry: Record<string, unknown>) => void }[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const waiter of [...waiters]) {
      if (waiter.match(entry)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(entry);
      }
    }
  });
  const waitForLog = (match: (entry: Record<string, unknown>) => boolean, timeoutMs = 20_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker log line not seen in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      waiters.push({ match, resolve: (entry) => (clearTimeout(timer), resolve(entry)) });
    });
  await Promise.race([
    waitForLog((entry) => entry.msg === "simulation workers running", 30_000),
    exited.then((code) => Promise.reject(new Error(`worker exited (${code}) before starting: ${stderr}`))),
  ]);
  return {
    child,
    waitForLog,
    kill: (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}
