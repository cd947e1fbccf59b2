import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { required } from "./config";
import { untilReady } from "./ready";
import type { Stack } from "./stack";

export type GatewayProcess = {
  gatewayUrl: string;
  graphqlUrl: string;
  child: ChildProcess;
  /** SIGTERM, then waits for the exit (a graceful shutdown: sockets get 1001). */
  stop(): Promise<number | null>;
};

const root = join(__dirname, "..", "..");
const alive = new Set<ChildProcess>();
process.once("exit", () => alive.forEach((child) => child.kill("SIGKILL")));

/**
 * Another gateway replica as its own OS process (the built entry point `npm start` runs), in
 * front of the same subgraphs and Redis as `stack`: what a second pod of the deployment is.
 */
export async function startGatewayProcess(stack: Stack, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [join(root, "gateway", "dist", "main.js")], {
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      PORT: "0",
      HOST: "127.0.0.1",
      GATEWAY_SIGNING_SECRET: required("TEST_GATEWAY_SIGNING_SECRET"),
      REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      IDENTITY_JWKS_URL: `${stack.identityUrl}/.well-known/jwks.json`,
      IDENTITY_INTERNAL_URL: stack.identityUrl,
      SUBGRAPH_IDENTITY_URL: `${stack.identityUrl}/graphql`,
      SUBGRAPH_CAMPAIGN_URL: `${stack.campaignUrl}/graphql`,
      ...(stack.realtimeUrl ? { SUBGRAPH_REALTIME_URL: `${stack.realtimeUrl}/graphql`, REALTIME_INTERNAL_URL: stack.realtimeUrl } : {}),
      ...(stack.simulationUrl ? { SUBGRAPH_SIMULATION_URL: `${stack.simulationUrl}/graphql` } : {}),
      RATE_LIMIT_KEY_PREFIX: `rate-limit:test:${randomUUID()}:`,
      ...env,
    },
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
  let gatewayUrl: string | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === "listening" && entry.url) {
      gatewayUrl = entry.url;
      break;
    }
  }
  if (!gatewayUrl) throw new Error(`the gateway process exited before listening: ${stderr}`);
  // Keep draining its output so the pipe never blocks the process.
  child.stdout?.resume();
  await untilReady(gatewayUrl);
  return {
    gatewayUrl,
    graphqlUrl: `${gatewayUrl}/graphql`,
    child,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
