/**
 * Cold start: the README's start command (`scripts/start.mjs`, what `npm start` runs after
 * the build) from launch to "every service ready", twice — with fresh databases (created and
 * migrated) and again with them in place — and when each service became ready. Baseline,
 * same run: a bare Node process that starts an HTTP server (the floor every service pays).
 * Own ports and `startales_<name>_coldstart` databases, dropped afterwards.
 *
 *   npm run bench:cold-start
 */
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { gatewayService, subgraphServices } from "../test/testkit/services";
import { machine, printTable, progress, quantile, round, writeResults } from "./lib/report";

const root = join(__dirname, "..");
const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? 24_000);
const TIMEOUT_MS = 180_000;

// services.json's ports moved to PORT_BASE (worker pools follow their subgraphs, as start.mjs places them).
const subgraphs = subgraphServices.map(({ name, port }) => ({ name, port: PORT_BASE + (port % 100) }));
const databaseEnv = Object.fromEntries(
  subgraphServices.flatMap(({ name, database }) => {
    if (!database) return [];
    const url = new URL(process.env.DATABASE_SERVER_URL ?? "postgresql://postgres@127.0.0.1:5432");
    url.pathname = `/${database}_coldstart`;
    return [[`${name.toUpperCase()}_DATABASE_URL`, url.toString()]];
  }),
);

type Run = { label: string; totalMs: number; databasesMs: number | null; readyMs: Record<string, number> };

/** One `scripts/start.mjs` from launch to "ready", then a clean stop. */
async function startOnce(label: string): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, "scripts", "start.mjs")], {
    cwd: root,
    env: {
      ...process.env,
      ...databaseEnv,
      LOG_LEVEL: "info",
      GATEWAY_PORT: String(PORT_BASE + (gatewayService.port % 100)),
      ...Object.fromEntries(subgraphs.map((s) => [`${s.name.toUpperCase()}_PORT`, String(s.port)])),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const readyMs: Record<string, number> = {};
  let databasesMs: number | null = null;
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  let ready = false;
  for await (const line of createInterface({ input: child.stdout! })) {
    const now = performance.now() - started;
    const service = /^\[([\w-]+)\] (.*)$/.exec(line);
    if (service && /"msg":"listening"/.test(service[2]!)) {
      readyMs[service[1]!] = round(now, 0);
      progress(` ${service[1]}`);
    }
    if (/^start: db: /.test(line)) databasesMs = round(now, 0);
    if (/supergraph is ready/.test(line)) {
      ready = true;
      break;
    }
  }
  const totalMs = round(performance.now() - started, 0);
  clearTimeout(timer);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT");
  await exited;
  if (!ready) throw new Error(`start did not become ready: ${stderr.slice(-2000)}`);
  progress(` — ready in ${totalMs} ms\n`);
  return { label, totalMs, databasesMs, readyMs };
}

/** The floor: `node` starting an HTTP server and answering once. */
async function bareNode(): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", "require('http').createServer((q,s)=>s.end('ok')).listen(0,'127.0.0.1',function(){console.log(this.address().port)})"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    child.stdout!.once("data", (data: Buffer) => {
      void fetch(`http://127.0.0.1:${String(data).trim()}/`)
        .then((r) => r.text())
        .then(() => {
          child.kill();
          resolve();
        }, reject);
    });
  });
  return performance.now() - started;
}

async function main(): Promise<void> {
  const { node, cpu, cores, loadavg } = machine();
  progress(`node ${node}, ${cpu} ×${cores}, load ${loadavg.join(" ")}; ports from ${PORT_BASE}\n`);
  const migrate = (args: string[]) => promisify(execFile)(process.execPath, [join(root, "prisma", "migrate-all.mjs"), ...args], { env: { ...process.env, ...databaseEnv } });
  await migrate(["--drop"]);
  const floors: number[] = [];
  for (let i = 0; i < 5; i++) floors.push(await bareNode());
  const floor = quantile(floors, 0.5);
  const runs: Run[] = [];
  try {
    progress("[fresh databases]");
    runs.push(await startOnce("fresh databases (created and migrated)"));
    progress("[databases in place]");
    runs.push(await startOnce("databases in place"));
  } finally {
    await migrate(["--drop"]).catch(() => undefined);
  }
  const services = [...subgraphs.map((s) => s.name), "gateway"];
  printTable(
    `cold start: scripts/start.mjs (npm start after its build) to every service ready; ${services.length} processes`,
    ["run", "ready ms", "databases ms", ...services.map((s) => `${s} ms`), "× bare node"],
    [
      ...runs.map((r) => [r.label, String(r.totalMs), String(r.databasesMs ?? "—"), ...services.map((s) => String(r.readyMs[s] ?? "—")), (r.totalMs / floor).toFixed(1)]),
      ["bare node: start an HTTP server, answer once (baseline)", String(round(floor, 0)), "—", ...services.map(() => "—"), "1.0"],
    ],
  );
  writeResults("cold-start", { floorMs: round(floor, 0), runs });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
