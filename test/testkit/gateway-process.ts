import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { startBuiltProcess } from "./built-process";
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

/**
 * Another gateway replica as its own OS process (the built entry point `npm start` runs), in
 * front of the same subgraphs and Redis as `stack`: what a second pod of the deployment is.
 */
export async function startGatewayProcess(stack: Stack, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const gateway = startBuiltProcess("gateway/dist/main.js", {
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
  });
  const listening = await gateway.waitForLog((entry) => entry.msg === "listening" && typeof entry.url === "string", 60_000);
  const gatewayUrl = listening.url as string;
  await untilReady(gatewayUrl);
  return {
    gatewayUrl,
    graphqlUrl: `${gatewayUrl}/graphql`,
    child: gateway.child,
    stop: () => gateway.kill("SIGTERM"),
  };
}
