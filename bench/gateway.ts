/**
 * Gateway throughput, in the shape of the public GraphQL gateways benchmark
 * (graphql-hive/graphql-gateways-benchmark): its four subgraphs (bench/gateways/subgraphs.ts,
 * same schema and data, in Node) and its heavy TestQuery, under the same fixed load for each
 * gateway: our gateway (as deployed: auth, limits, rate limits, persisted queries, metrics),
 * stock @apollo/gateway with default settings, and Hive Gateway (@graphql-hive/gateway).
 * Each gateway gets one core of its own (taskset), the subgraphs and the load generator
 * (autocannon) the other. Every gateway's answer is checked against stock @apollo/gateway's,
 * byte for byte, before it is measured. Besides throughput, each gateway's own CPU time per
 * request (from /proc, user + system): on a shared machine, or when the subgraphs' core is
 * the bottleneck (a gateway left idle between requests), RPS understates what a gateway
 * would serve on a core of its own; CPU per request does not depend on that.
 *
 *   npm run bench:gateway
 *   BENCH_DURATION_S=10 BENCH_CONNECTIONS=50 BENCH_GATEWAYS=ours,apollo npm run bench:gateway
 *   BENCH_PROFILE_DIR=/tmp/prof BENCH_GATEWAYS=ours npm run bench:gateway   # V8 CPU profile of ours
 *   BENCH_OURS_MAIN=/path/to/other/build/main.js BENCH_GATEWAYS=ours npm run bench:gateway
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { isDeepStrictEqual } from "node:util";
import autocannon from "autocannon";
import { GATEWAY_NODE_FLAGS } from "../gateway/src/node-flags";
import { composeBenchSupergraph } from "./gateways/supergraph";
import { machine, printTable, progress, round, writeResults } from "./lib/report";

const root = join(__dirname, "..");
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const GATEWAYS = (process.env.BENCH_GATEWAYS ?? "apollo,hive,ours").split(",");
const GATEWAY_CPU = process.env.BENCH_GATEWAY_CPU ?? "1";
const OTHER_CPUS = process.env.BENCH_OTHER_CPUS ?? "0";
/** Where our gateway writes a V8 CPU profile (.cpuprofile, for Chrome DevTools) of its whole run. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
/** Our gateway's entry point: another build of it, to compare two builds of ours on the same machine. */
const OURS_MAIN = process.env.BENCH_OURS_MAIN ?? join(root, "gateway", "dist", "main.js");
/** A file for each gateway's output after it listens (ours logs a warning per failed fetch); discarded when unset. */
const LOG_DIR = process.env.BENCH_LOG_DIR;
const QUERY = readFileSync(join(__dirname, "gateways", "test-query.graphql"), "utf8");
const BODY = JSON.stringify({ query: QUERY, operationName: "TestQuery" });

type Running = { child: ChildProcess; url: string; stop(): Promise<void> };
/** How a gateway's answer compares with stock's: the same bytes, the same JSON value (formatting differs), or not. */
type Sameness = "bytes" | "value" | "NO";
type Figures = { gateway: string; rps: number; cpuMsPerRequest: number | null; p50: number; p95: number; p99: number; errors: number; non2xx: number; sameAsStock: Sameness | null };

const children = new Set<ChildProcess>();
process.once("exit", () => children.forEach((child) => child.kill("SIGKILL")));

/** Starts a command pinned to `cpus`, resolving with the URL its `match` finds in a stdout line. */
async function start(cpus: string, command: string[], env: Record<string, string>, match: (line: string) => string | undefined): Promise<Running> {
  const child = spawn("taskset", ["-c", cpus, ...command], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let url: string | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    url = match(line);
    if (url) break;
  }
  if (!url) throw new Error(`${command.join(" ")} exited before listening: ${stderr.slice(-2000)}`);
  if (LOG_DIR) child.stdout?.pipe(createWriteStream(join(LOG_DIR, `${basename(command.find((part) => /\.(ts|js)$/.test(part)) ?? "process")}-${child.pid}.log`)));
  else child.stdout?.resume();
  return {
    child,
    url,
    stop: async () => {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
      children.delete(child);
    },
  };
}

const CLOCK_TICKS_PER_S = 100;
/** A process's CPU time so far (user + system), in ms; null where /proc is not there. */
function cpuMs(pid: number | undefined): number | null {
  try {
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

const jsonField = (field: string) => (line: string) => {
  try {
    const value = (JSON.parse(line) as Record<string, unknown>)[field];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
};

async function post(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: BODY });
  return { status: response.status, text: await response.text() };
}

async function startGateway(name: string, supergraphPath: string, port: number): Promise<Running> {
  const node = process.execPath;
  const tsx = ["--require", require.resolve("tsx/cjs")];
  switch (name) {
    case "apollo":
      return start(GATEWAY_CPU, [node, ...tsx, join(__dirname, "gateways", "apollo-gateway.ts"), supergraphPath], { PORT: String(port) }, jsonField("url"));
    case "hive":
      // Hive Gateway's own CLI, default settings; it says nothing parseable when ready, so poll.
      return start(
        GATEWAY_CPU,
        [node, join(root, "node_modules", "@graphql-hive", "gateway", "dist", "bin.js"), "supergraph", supergraphPath, "--port", String(port), "--host", "127.0.0.1"],
        { NODE_ENV: "production" },
        (line) => (/listening|running|started/i.test(line) ? `http://127.0.0.1:${port}/graphql` : undefined),
      );
    case "ours":
      return start(
        GATEWAY_CPU,
        // As deployed: the same V8 flags as npm start, the container and the Deployment.
        [node, ...GATEWAY_NODE_FLAGS, ...(PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : []), OURS_MAIN],
        {
          NODE_ENV: "production",
          LOG_LEVEL: "info",
          HOST: "127.0.0.1",
          PORT: String(port),
          SUPERGRAPH_PATH: supergraphPath,
          GATEWAY_SIGNING_SECRET: randomBytes(48).toString("base64url"),
          // Never called: the benchmark's requests carry no token.
          IDENTITY_JWKS_URL: "http://127.0.0.1:9/.well-known/jwks.json",
          REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
          // The TestQuery is heavy by design; the load is one client address.
          MAX_QUERY_COST: "1000000",
          MAX_QUERY_DEPTH: "20",
          RATE_LIMIT_IP_PER_MINUTE: "100000000",
          RATE_LIMIT_COST_PER_MINUTE: "1000000000",
          RATE_LIMIT_KEY_PREFIX: `rate-limit:bench:${randomBytes(4).toString("hex")}:`,
        },
        (line) => jsonField("url")(line) && jsonField("msg")(line) === "listening" ? jsonField("url")(line) + "/graphql" : undefined,
      );
    default:
      throw new Error(`unknown gateway ${name} (apollo, hive, ours)`);
  }
}

function load(url: string, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, method: "POST", headers: { "content-type": "application/json" }, body: BODY, connections: CONNECTIONS, duration: seconds, timeout: 30 },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    let ticks = 0;
    instance.on("tick", () => {
      ticks += 1;
      if (ticks % 5 === 0) progress(` ${ticks}s`);
    });
  });
}

async function main(): Promise<void> {
  const { node, cpu, cores, loadavg } = machine();
  progress(`node ${node}, ${cpu} ×${cores}, load ${loadavg.join(" ")}; ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per gateway\n`);
  const subgraphs = await start(OTHER_CPUS, [process.execPath, "--require", require.resolve("tsx/cjs"), join(__dirname, "gateways", "subgraphs.ts")], {}, (line) => {
    try {
      return JSON.stringify((JSON.parse(line) as { subgraphs?: unknown }).subgraphs ?? undefined);
    } catch {
      return undefined;
    }
  });
  const dir = mkdtempSync(join(tmpdir(), "startales-bench-gateway-"));
  const supergraphPath = join(dir, "supergraph.graphql");
  writeFileSync(supergraphPath, composeBenchSupergraph(JSON.parse(subgraphs.url) as Record<string, string>));

  const results: Figures[] = [];
  let stock: string | null = null;
  try {
    // Stock first: its answer is the reference for the others.
    for (const name of ["apollo", ...GATEWAYS.filter((g) => g !== "apollo")]) {
      const measured = GATEWAYS.includes(name);
      progress(`[${name}] starting`);
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const gateway = await startGateway(name, supergraphPath, port);
      try {
        let first = await post(gateway.url).catch(() => null);
        for (let i = 0; i < 100 && first?.status !== 200; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          first = await post(gateway.url).catch(() => null);
        }
        if (first?.status !== 200) throw new Error(`${name} answered ${first?.status}: ${first?.text.slice(0, 500)}`);
        if (name === "apollo") stock = first.text;
        const sameAsStock: Sameness | null =
          stock === null ? null : first.text === stock ? "bytes" : isDeepStrictEqual(JSON.parse(first.text), JSON.parse(stock)) ? "value" : "NO";
        if (!measured) continue;
        progress(`; same JSON as stock: ${sameAsStock}; warm-up`);
        await load(gateway.url, WARMUP_S);
        progress("; measuring");
        // taskset execs the gateway: the child's pid is the gateway's.
        const cpuBefore = cpuMs(gateway.child.pid);
        const result = await load(gateway.url, DURATION_S);
        const cpuAfter = cpuMs(gateway.child.pid);
        progress("\n");
        results.push({
          gateway: name,
          rps: round(result.requests.average, 1),
          cpuMsPerRequest: cpuBefore === null || cpuAfter === null || result.requests.total === 0 ? null : round((cpuAfter - cpuBefore) / result.requests.total, 2),
          p50: result.latency.p50,
          p95: result.latency.p97_5,
          p99: result.latency.p99,
          errors: result.errors + result.timeouts,
          non2xx: result.non2xx,
          sameAsStock,
        });
      } finally {
        await gateway.stop();
      }
    }
  } finally {
    await subgraphs.stop();
  }

  const by = (name: string) => results.find((r) => r.gateway === name);
  const apollo = by("apollo");
  const hive = by("hive");
  const labels: Record<string, string> = { apollo: "@apollo/gateway (stock)", hive: "Hive Gateway", ours: "Startales gateway" };
  printTable(
    `gateway: TestQuery of the public gateways benchmark, ${CONNECTIONS} connections, ${DURATION_S} s, one core per gateway`,
    ["gateway", "RPS", "p50 ms", "p97.5 ms", "p99 ms", "errors", "non-2xx", "same JSON as stock", "× stock", "× Hive", "CPU ms/request", "× stock (CPU)"],
    results.map((r) => [
      labels[r.gateway] ?? r.gateway,
      r.rps.toFixed(1),
      String(r.p50),
      String(r.p95),
      String(r.p99),
      String(r.errors),
      String(r.non2xx),
      r.sameAsStock === null ? "—" : { bytes: "yes, byte for byte", value: "same value, other bytes", NO: "NO" }[r.sameAsStock],
      apollo?.rps ? (r.rps / apollo.rps).toFixed(2) : "—",
      hive?.rps ? (r.rps / hive.rps).toFixed(2) : "—",
      r.cpuMsPerRequest === null ? "—" : r.cpuMsPerRequest.toFixed(2),
      // How many more requests per CPU second than stock: the RPS ratio on a gateway core that is never idle.
      apollo?.cpuMsPerRequest && r.cpuMsPerRequest ? (apollo.cpuMsPerRequest / r.cpuMsPerRequest).toFixed(2) : "—",
    ]),
  );
  const ours = by("ours");
  // No verdict from a run where stock completed nothing in the window (an overloaded machine).
  if (ours && apollo?.rps) {
    // Apollo Router's published ratio over stock on this benchmark is 353 / 91.8 RPS, about 3.8.
    const cpu = ours.cpuMsPerRequest && apollo.cpuMsPerRequest ? `; ours ≥ 4× stock per CPU second: ${apollo.cpuMsPerRequest >= 4 * ours.cpuMsPerRequest ? "PASS" : "FAIL"}` : "";
    console.log(`\ntargets: ours ≥ 4× stock: ${ours.rps >= 4 * apollo.rps ? "PASS" : "FAIL"}${cpu}${hive ? `; ours ≥ 1× Hive Gateway: ${ours.rps >= hive.rps ? "PASS" : "FAIL"}` : ""}`);
  }
  writeResults("gateway", { connections: CONNECTIONS, durationSeconds: DURATION_S, results });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
