import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { Redis } from "ioredis";
import { required, testEnv, testNotificationTopic } from "../testkit/config";
import { postGraphQL } from "../testkit/graphql-client";
import { migrateAll } from "../testkit/migrate-all";
import { deleteKeysMatching } from "../testkit/redis-keys";
import { processes } from "../testkit/services";
import { unusedPort } from "../testkit/ports";

/**
 * `npm run dev` (scripts/dev.mjs) on a copy of the sources in a temporary directory, so that
 * its edits never touch the checkout other suites build and read, with ports, databases and
 * Redis namespaces of its own: a saved source file restarts only the process that runs it
 * while the gateway keeps answering; a saved subgraph schema recomposes the supergraph and the
 * gateway serves the new field. Restart times are printed, never asserted.
 */

const root = join(__dirname, "..", "..");
// What dev.mjs runs and reads; node_modules is linked, not copied, and builds are not needed.
const TREE = ["package.json", "tsconfig.base.json", "tsconfig.json", "codegen.yml", "services.json", "supergraph.yaml", "supergraph.graphql", "gateway", "packages", "subgraphs", "prisma", "scripts"];
const NOT_COPIED = new Set(["node_modules", "dist", ".tsbuildinfo"]);

const id = randomUUID().slice(0, 8);
const servicesWithDatabases = readdirSync(join(root, "subgraphs")).filter((name) => existsSync(join(root, "subgraphs", name, "prisma", "schema.prisma")));
const databaseEnv = Object.fromEntries(
  servicesWithDatabases.map((name) => {
    const url = new URL(required(`${name.toUpperCase()}_DATABASE_URL`));
    url.pathname = `${url.pathname}_dev_${id}`;
    return [`${name.toUpperCase()}_DATABASE_URL`, url.toString()];
  }),
);
const redisNamespaces = { QUEUE_PREFIX: `dev-loop-${id}`, PROVIDER_REDIS_PREFIX: `provider:dev-loop:${id}:`, NOTIFICATION_REDIS_PREFIX: `notification:dev-loop:${id}:`, RATE_LIMIT_KEY_PREFIX: `rate-limit:dev-loop:${id}:` };

type Dev = {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  /** Resolves with the lines matching `pattern` once there are `count` of them. */
  until(pattern: RegExp, count?: number, timeoutMs?: number): Promise<string[]>;
};

function launchDev(tree: string, env: NodeJS.ProcessEnv): Dev {
  const child = spawn(process.execPath, [join(tree, "scripts", "dev.mjs")], { cwd: tree, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string) => {
    lines.push(line);
    waiters.forEach((check) => check());
  };
  createInterface({ input: child.stdout! }).on("line", onLine);
  createInterface({ input: child.stderr! }).on("line", onLine);
  let closed = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      closed = true;
      waiters.forEach((check) => check());
      resolve(code);
    }),
  );
  const until = (pattern: RegExp, count = 1, timeoutMs = 60_000) =>
    new Promise<string[]>((resolve, reject) => {
      const matching = () => lines.filter((line) => pattern.test(line));
      const timer = setTimeout(() => finish(new Error(`no ${count} lines matching ${pattern} in ${timeoutMs} ms; output:\n${lines.join("\n")}`)), timeoutMs);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) reject(error);
        else resolve(matching());
      };
      const check = () => {
        if (matching().length >= count) finish();
        else if (closed) finish(new Error(`dev.mjs exited before printing ${count} lines matching ${pattern}; output:\n${lines.join("\n")}`));
      };
      waiters.add(check);
      check();
    });
  return { child, lines, exited, until };
}

/** name → pid of each process dev.mjs started, from `dev: started <name> (pid N)`, among `lines`. */
function startedPids(lines: string[]): Map<string, number> {
  const pids = new Map<string, number>();
  for (const line of lines) {
    const match = /^dev: started (\S+) \(pid (\d+)\)$/.exec(line);
    if (match) pids.set(match[1]!, Number(match[2]));
  }
  return pids;
}

/** Whether `pid` is still one of the processes dev.mjs started: its command line runs a file of the copy (pids are reused). */
const isOurs = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(tree);
  } catch {
    return false;
  }
};

let tree: string;
let dev: Dev;
let graphqlUrl: string;
const everyPid = new Set<number>();

beforeAll(async () => {
  tree = mkdtempSync(join(tmpdir(), "startales-dev-loop-"));
  for (const entry of TREE) {
    cpSync(join(root, entry), join(tree, entry), { recursive: true, preserveTimestamps: true, filter: (source) => !NOT_COPIED.has(basename(source)) });
  }
  symlinkSync(join(root, "node_modules"), join(tree, "node_modules"), "dir");
  const ports: Record<string, string> = {};
  for (const process of processes) ports[`${process.name.toUpperCase().replaceAll("-", "_")}_PORT`] = String(await unusedPort());
  graphqlUrl = `http://127.0.0.1:${ports.GATEWAY_PORT}/graphql`;
  dev = launchDev(
    tree,
    testEnv({
      LOG_LEVEL: "warn",
      JWT_PRIVATE_KEY: required("TEST_JWT_PRIVATE_KEY"),
      NOTIFICATION_TOPIC: testNotificationTopic(`dev-loop-${id}`),
      // The test polls the gateway as fast as it answers.
      RATE_LIMIT_IP_PER_MINUTE: "1000000",
      // A second whole stack beside the suite running with it: small pools keep both under
      // PostgreSQL's 100 connections (the authorization matrix beside it saw SERVICE_UNAVAILABLE).
      DATABASE_POOL_SIZE: "2",
      ...redisNamespaces,
      ...databaseEnv,
      ...ports,
    }),
  );
  await dev.until(/^dev: watching the sources/, 1, 240_000);
  for (const pid of startedPids(dev.lines).values()) everyPid.add(pid);
}, 300_000);

afterAll(async () => {
  if (dev && dev.child.exitCode === null) {
    dev.child.kill("SIGTERM");
    await dev.exited;
  }
  for (const pid of [...everyPid, ...startedPids(dev?.lines ?? []).values()]) {
    if (isOurs(pid)) process.kill(pid, "SIGKILL");
  }
  // Only this suite's databases: every service's variable names one of them.
  await migrateAll(databaseEnv, ["--drop"]);
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  try {
    for (const prefix of Object.values(redisNamespaces)) await deleteKeysMatching(redis, `${prefix}*`);
  } finally {
    redis.disconnect();
  }
  if (tree) rmSync(tree, { recursive: true, force: true });
}, 120_000);

/** Sends a query to the gateway over and over until stopped; resolves with every answer that was not a success. */
function pollGateway(query: string): { stop: () => Promise<{ answers: number; failures: string[] }> } {
  let polling = true;
  let answers = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (polling) {
      try {
        const response = await postGraphQL(graphqlUrl, { query });
        answers += 1;
        if (response.status !== 200 || response.errors) failures.push(`${response.status} ${JSON.stringify(response.errors)}`);
      } catch (error) {
        failures.push(String((error as { cause?: { code?: string } }).cause?.code ?? error));
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    stop: async () => {
      polling = false;
      await loop;
      return { answers, failures };
    },
  };
}

/** The next line matching `pattern`: one more than have been printed when it is called. */
const nextLine = async (pattern: RegExp, timeoutMs?: number) => (await dev.until(pattern, dev.lines.filter((line) => pattern.test(line)).length + 1, timeoutMs)).at(-1)!;
const startedSince = (from: number) => [...startedPids(dev.lines.slice(from)).keys()];
const restartTime = (line: string) => Number(/in (\d+) ms$/.exec(line)?.[1]);

it("runs every process of npm start, each with a pid of its own", () => {
  expect([...startedPids(dev.lines).keys()].sort()).toEqual(processes.map((p) => p.name).sort());
  expect(dev.lines).toContain("Startales supergraph is ready:");
});

it("a saved source file restarts only the process that runs it, while the gateway keeps answering", async () => {
  const before = startedPids(dev.lines);
  const file = join(tree, "subgraphs", "realtime", "src", "config.ts");
  const original = readFileSync(file, "utf8");
  // Identity answers through the gateway while realtime restarts.
  const poll = pollGateway("{ oidcProviders }");
  const from = dev.lines.length;
  appendFileSync(file, `\n// dev-loop test ${id}\n`);
  const restarted = await nextLine(/^dev: restarted realtime \(pid \d+\) in \d+ ms$/);
  const { answers, failures } = await poll.stop();
  console.log(`dev loop: realtime restarted in ${restartTime(restarted)} ms after a source change; the gateway answered ${answers} queries meanwhile`);

  expect(failures).toEqual([]);
  expect(answers).toBeGreaterThan(0);
  expect(startedSince(from)).toEqual(["realtime"]);
  const after = startedPids(dev.lines);
  expect(after.get("realtime")).not.toBe(before.get("realtime"));
  expect(isOurs(before.get("realtime")!)).toBe(false);
  // A process that is gone says why in its own output: printed before the assertion names it.
  const gone = [...before].filter(([name, pid]) => name !== "realtime" && !isOurs(pid)).map(([name]) => name);
  if (gone.length) console.log(`dev loop: ${gone.join(", ")} gone; the last lines of npm run dev:\n${dev.lines.slice(-80).join("\n")}`);
  for (const [name, pid] of before) {
    if (name !== "realtime") expect([name, after.get(name), isOurs(pid)]).toEqual([name, pid, true]);
  }
  everyPid.add(after.get("realtime")!);

  // Back as it was: a change too, so realtime restarts once more, and nothing else does.
  const restoring = dev.lines.length;
  writeFileSync(file, original);
  await nextLine(/^dev: restarted realtime /);
  expect(startedSince(restoring)).toEqual(["realtime"]);
  everyPid.add(startedPids(dev.lines).get("realtime")!);
}, 120_000);

it("a save that breaks a service prints its error and leaves it stopped, the rest up, until the fix is saved", async () => {
  const before = startedPids(dev.lines);
  const file = join(tree, "subgraphs", "realtime", "src", "config.ts");
  const original = readFileSync(file, "utf8");
  const from = dev.lines.length;
  appendFileSync(file, "\nexport const broken = ;\n");
  // The error (the child's output, on dev's stdout) and the exit (dev's stderr) come in either order.
  await Promise.all([
    nextLine(/^dev: realtime exited \(code 1\); it starts again when a file it runs changes$/),
    nextLine(/^\[realtime\] .*config\.ts:\d+:\d+: ERROR: Unexpected ";"/),
  ]);
  // Nothing restarts it meanwhile, and everything else answers.
  expect((await postGraphQL(graphqlUrl, { query: "{ oidcProviders }" })).errors).toBeUndefined();
  expect(dev.lines.slice(from).filter((line) => /^dev: (started|restarted) /.test(line) && !/ realtime /.test(line))).toEqual([]);

  const fixing = dev.lines.length;
  writeFileSync(file, original);
  const restarted = await nextLine(/^dev: restarted realtime /);
  console.log(`dev loop: realtime was back ${restartTime(restarted)} ms after the fix was saved`);
  expect(startedSince(fixing)).toEqual(["realtime"]);
  const after = startedPids(dev.lines);
  for (const [name, pid] of before) {
    if (name !== "realtime") expect([name, after.get(name)]).toEqual([name, pid]);
  }
  everyPid.add(after.get("realtime")!);
}, 120_000);

it("a saved subgraph schema recomposes the supergraph, and the gateway, restarted, serves the new field", async () => {
  const probe = "{ devLoopProbe }";
  const refused = await postGraphQL(graphqlUrl, { query: probe });
  expect(refused.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");

  const before = startedPids(dev.lines);
  const from = dev.lines.length;
  appendFileSync(join(tree, "subgraphs", "realtime", "schema.graphql"), `\nextend type Query {\n  "Added by the dev loop test."\n  devLoopProbe: String\n}\n`);
  const restarted = await nextLine(/^dev: restarted gateway \(pid \d+\) in \d+ ms$/, 120_000);
  console.log(`dev loop: the gateway served the new schema ${restartTime(restarted)} ms after the schema change`);

  expect(readFileSync(join(tree, "supergraph.graphql"), "utf8")).toMatch(/devLoopProbe: String/);
  expect(readFileSync(join(tree, "subgraphs", "realtime", "src", "generated", "resolvers-types.ts"), "utf8")).toMatch(/devLoopProbe/);
  const served = await postGraphQL(graphqlUrl, { query: probe });
  expect([served.status, served.errors, served.data]).toEqual([200, undefined, { devLoopProbe: null }]);
  expect(startedSince(from).sort()).toEqual(["gateway", "realtime"]);
  const after = startedPids(dev.lines);
  for (const [name, pid] of before) {
    if (name !== "realtime" && name !== "gateway") expect([name, after.get(name)]).toEqual([name, pid]);
  }
  for (const pid of after.values()) everyPid.add(pid);
}, 180_000);

it("stops every process on SIGTERM, restarting none", async () => {
  const pids = [...startedPids(dev.lines).values()];
  const from = dev.lines.length;
  dev.child.kill("SIGTERM");
  expect(await dev.exited).toBe(0);
  expect(dev.lines.slice(from).filter((line) => /^dev: (started|restarted) /.test(line))).toEqual([]);
  expect(dev.lines.slice(from)).toContain("dev: gateway stopped");
  expect(pids.filter(isOurs)).toEqual([]);
}, 60_000);
