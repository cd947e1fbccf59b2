import type { Viewer } from "@startales/service-kit";
import { startBuiltProcess, type BuiltProcess } from "./built-process";
import { simulationWorkerTestEnv } from "./config";
import { gatewayHeaders } from "./gateway-identity";
import { expectData, postGraphQL, type GraphQLResponse } from "./graphql-client";

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

export type WorkerProcess = Pick<BuiltProcess, "child" | "waitForLog" | "kill">;

/**
 * The simulation worker pool's entry point (subgraphs/simulation/dist/worker.js, built from
 * src/worker.ts) as its own OS process, as a pod of the worker Deployment. The built entry
 * (npm test builds first): no compiling in the child, which under a loaded CI machine took
 * long enough to make the kill test's waits flaky.
 */
export async function startWorkerProcess(campaignOrigin: string, env: Record<string, string>): Promise<WorkerProcess> {
  const worker = startBuiltProcess("subgraphs/simulation/dist/worker.js", simulationWorkerTestEnv(campaignOrigin, { LOG_LEVEL: "info", WORKER_CONCURRENCY: "2", ...env }));
  await worker.waitForLog((entry) => entry.msg === "simulation workers running", 30_000);
  return worker;
}
