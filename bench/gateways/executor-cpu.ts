/**
 * The CPU our executor (gateway/src/execution/) spends on one TestQuery of the gateways
 * benchmark without the network: the subgraphs' answers are recorded once over HTTP, then
 * each request plans nothing (cached), runs the plan against the recorded answers (parsed
 * afresh each time, as they would arrive), shapes the response and serializes it. On a
 * shared machine this is steadier than bench/gateway.ts's throughput, for comparing changes
 * to the executor; it says nothing about HTTP, Apollo Server or the rest of the gateway.
 * With BENCH_LIVE=1 the fetches go over HTTP to the subgraphs (in a child process, so their
 * CPU is not counted), BENCH_CONCURRENCY requests at a time: the executor and its subgraph
 * client, still without Apollo Server and the client's HTTP.
 *
 *   npx tsx bench/gateways/executor-cpu.ts             # BENCH_ITERATIONS=2000
 *   BENCH_LIVE=1 npx tsx bench/gateways/executor-cpu.ts
 *   node --cpu-prof -r tsx/cjs bench/gateways/executor-cpu.ts
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ApolloGateway } from "@apollo/gateway";
import type { GatewayGraphQLRequestContext } from "@apollo/server-gateway-interface";
import { parse } from "graphql";
import { anonymous, createLogger } from "@startales/service-kit";
import type { GatewayContext } from "../../gateway/src/context";
import { createQueryPlanExecutor } from "../../gateway/src/execution/executor";
import type { SubgraphResult } from "../../gateway/src/execution/plan-execution";
import { createSubgraphClient, type FetchScope } from "../../gateway/src/execution/subgraph-client";
import { round } from "../lib/report";
import { serveSubgraphs } from "./subgraphs";
import { composeBenchSupergraph } from "./supergraph";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const LIVE = process.env.BENCH_LIVE === "1";
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const QUERY = readFileSync(join(__dirname, "test-query.graphql"), "utf8");

/** The subgraphs in a child process; their URLs, and how to stop them. */
async function childSubgraphs(): Promise<{ urls: Record<string, string>; close(): Promise<void> }> {
  const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), join(__dirname, "subgraphs.ts")], { stdio: ["ignore", "pipe", "inherit"] });
  for await (const line of createInterface({ input: child.stdout })) {
    const { subgraphs } = JSON.parse(line) as { subgraphs: Record<string, string> };
    child.stdout.resume();
    return { urls: subgraphs, close: async () => void child.kill() };
  }
  throw new Error("the subgraphs exited before listening");
}

async function main(): Promise<void> {
  const subgraphs = LIVE ? await childSubgraphs() : await serveSubgraphs();
  const supergraphSdl = composeBenchSupergraph(subgraphs.urls);
  const { schema } = await new ApolloGateway({ supergraphSdl }).load();
  const plans = createQueryPlanExecutor({ supergraphSdl });
  // Counts what reaches the subgraphs (a fetch the plan repeats is sent once).
  let sentToSubgraphs = 0;
  const client = createSubgraphClient({
    urls: Object.fromEntries(plans.subgraphs.map(({ name, url }) => [name, url])),
    connections: 4,
    timeoutMs: 5_000,
    middlewares: [(call, next) => ((sentToSubgraphs += 1), next(call))],
  });

  // Each distinct fetch's answer, as text: recorded on the first request, replayed after.
  const recorded = new Map<string, string>();
  let replay = false;
  const executor = plans.executorFor(schema, async (serviceName, request, scope: FetchScope): Promise<SubgraphResult> => {
    if (LIVE) return client.send(serviceName, request, scope);
    const key = `${serviceName}\0${JSON.stringify(request)}`;
    if (replay) {
      const text = recorded.get(key);
      if (text === undefined) throw new Error(`a fetch not seen when recording: ${key.slice(0, 200)}`);
      return JSON.parse(text) as SubgraphResult;
    }
    const result = await client.send(serviceName, request, scope);
    recorded.set(key, JSON.stringify(result));
    return result;
  });

  const logger = createLogger("bench", "silent");
  const document = parse(QUERY);
  const requestContext = () =>
    ({
      request: { query: QUERY, operationName: "TestQuery" },
      document,
      queryHash: "test-query",
      overallCachePolicy: undefined,
      context: { viewer: anonymous, requestId: "bench", logger, identityToken: async () => "identity", rateLimit: { costKey: "bench" } } satisfies GatewayContext,
    }) as unknown as GatewayGraphQLRequestContext;
  const run = async () => JSON.stringify(await executor(requestContext()));

  const reference = await run();
  const sentPerRequest = sentToSubgraphs;
  if (!LIVE) {
    await client.close();
    await subgraphs.close();
    replay = true;
  }
  if ((await run()) !== reference) throw new Error("the second answer differs from the first");

  // `workers` loops of requests one after another, `count` requests in all.
  const runMany = async (count: number, workers: number) => {
    let left = count;
    await Promise.all(Array.from({ length: workers }, async () => {
      while (left-- > 0) if ((await run()) !== reference) throw new Error("an answer differs from the first");
    }));
  };
  const workers = LIVE ? CONCURRENCY : 1;
  await runMany(ITERATIONS / 4, workers); // warm-up
  const started = process.cpuUsage();
  await runMany(ITERATIONS, workers);
  const used = process.cpuUsage(started);
  const perRequest = (used.user + used.system) / ITERATIONS;
  if (LIVE) {
    await client.close();
    await subgraphs.close();
  }
  console.log(`executor CPU per TestQuery${LIVE ? ", with its fetches over HTTP" : ""}: ${round(perRequest, 1)} µs (${ITERATIONS} requests, ${sentPerRequest} subgraph requests each, response ${reference.length} bytes)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
