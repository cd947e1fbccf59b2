import type { Logger } from "@startales/service-kit";
import { createProviderApp } from "../../subgraphs/provider/src/app";
import { createProviderWorker } from "../../subgraphs/provider/src/worker-app";
import { providerTestConfig } from "./config";
import { gatewayHeaders, asUser } from "./gateway-identity";
import { postGraphQL, type GraphQLResponse } from "./graphql-client";
import { captureLogs } from "./logs";
import { untilReady } from "./ready";

export type ProviderHarness = {
  url: string;
  /** The worker's own HTTP server (/health/*, /metrics). */
  workerUrl: string;
  /** A GraphQL call to the subgraph as `userId` (roles default to PLAYER), signed like the gateway would. */
  call<T = Record<string, unknown>>(userId: string, query: string, variables?: Record<string, unknown>, roles?: ("PLAYER" | "ADMIN" | "ANALYST")[]): Promise<GraphQLResponse<T>>;
  /** Polls job(id) until it is SUCCEEDED or FAILED. */
  finished(userId: string, jobId: string, selection?: string): Promise<Record<string, unknown>>;
  logs: { provider: ReturnType<typeof captureLogs>; worker: ReturnType<typeof captureLogs> };
  stop(): Promise<void>;
};

/** The provider subgraph and its worker pool on port 0 with their own Redis namespace; no gateway. */
export async function startProvider(env: Record<string, string> = {}, campaignUrl = "http://127.0.0.1:9"): Promise<ProviderHarness> {
  const config = providerTestConfig(campaignUrl, env);
  const logs = { provider: captureLogs("provider", "warn"), worker: captureLogs("provider-worker", "warn") };
  const app = createProviderApp(config, logs.provider.logger as Logger);
  const worker = createProviderWorker(config, logs.worker.logger as Logger);
  const url = await app.listen();
  const workerUrl = await worker.listen();
  await untilReady(url);
  const call: ProviderHarness["call"] = async (userId, query, variables = {}, roles = ["PLAYER"]) =>
    postGraphQL(`${url}/graphql`, { query, variables }, { headers: await gatewayHeaders(asUser(userId, roles)) });
  return {
    url,
    workerUrl,
    call,
    logs,
    async finished(userId, jobId, selection = "id status text contentUrl contentType errorCode error attempts deployment model usage { promptTokens completionTokens totalTokens costMicros cached }") {
      for (let i = 0; i < 400; i++) {
        const response = await call<{ job: Record<string, unknown> }>(userId, `query($id: ID!) { job(id: $id) { ${selection} } }`, { id: jobId });
        const job = response.data?.job;
        if (!job) throw new Error(`job ${jobId} not readable: ${JSON.stringify(response.errors)}`);
        if (job.status === "SUCCEEDED" || job.status === "FAILED") return job;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`job ${jobId} did not finish`);
    },
    async stop() {
      await app.stop();
      await worker.stop();
    },
  };
}
