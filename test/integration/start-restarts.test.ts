import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { required, testEnv } from "../testkit/config";
import { unusedPort } from "../testkit/ports";

const root = join(__dirname, "..", "..");

type Running = {
  child: ChildProcess;
  /** Every line printed so far, stdout and stderr interleaved as they arrive. */
  lines: string[];
  exited: Promise<number | null>;
  /** Resolves with the lines matching `pattern` once there are `count` of them. */
  until(pattern: RegExp, count?: number, timeoutMs?: number): Promise<string[]>;
};

// Processes a failing test leaves behind: the launched ones and the children they report.
const launched = new Set<ChildProcess>();
const descendants = new Set<number>();
afterEach(() => {
  for (const child of launched) child.kill("SIGKILL");
  launched.clear();
  for (const pid of descendants) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  descendants.clear();
});

function launch(script: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [script, ...args], { cwd: root, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  launched.add(child);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string) => {
    lines.push(line);
    const pid = /^spawned \S+ \d+ (\d+)$/.exec(line)?.[1] ?? /^\[[\w-]+\] .*"pid":(\d+)/.exec(line)?.[1];
    if (pid) descendants.add(Number(pid));
    waiters.forEach((check) => check());
  };
  createInterface({ input: child.stdout! }).on("line", onLine);
  createInterface({ input: child.stderr! }).on("line", onLine);
  let closed = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      closed = true;
      launched.delete(child);
      waiters.forEach((check) => check());
      resolve(code);
    }),
  );
  const until = (pattern: RegExp, count = 1, timeoutMs = 20_000) =>
    new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no ${count} lines matching ${pattern} in ${timeoutMs} ms; output:\n${lines.join("\n")}`)), timeoutMs);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) reject(error);
        else resolve(lines.filter((line) => pattern.test(line)));
      };
      const check = () => {
        if (lines.filter((line) => pattern.test(line)).length >= count) finish();
        else if (closed) finish(new Error(`exited before printing ${count} lines matching ${pattern}; output:\n${lines.join("\n")}`));
      };
      waiters.add(check);
      check();
    });
  return { child, lines, exited, until };
}

type HarnessService = { name: string; commands: string[][] };
const supervise = (backoff: { initialMs: number; maxMs: number; resetAfterMs: number }, services: HarnessService[]) =>
  launch(join(root, "test", "testkit", "supervisor-harness.mjs"), [JSON.stringify({ backoff, services })], {});

const pidOf = (line: string) => Number(/(\d+)$/.exec(line)?.[1] ?? /"pid":(\d+)/.exec(line)?.[1]);
const crash = (code: number) => ["sh", "-c", `exit ${code}`];
const stayUp = ["sleep", "600"];

describe("the supervisor npm start runs its services under", () => {
  it("keeps restarting a child that crashes at once, the delay doubling up to its cap", async () => {
    const run = supervise({ initialMs: 20, maxMs: 80, resetAfterMs: 60_000 }, [{ name: "crasher", commands: [crash(3)] }]);
    const crashes = await run.until(/exited unexpectedly/, 5);
    expect(crashes.slice(0, 5)).toEqual([
      "start: crasher exited unexpectedly (code 3); restarting it in 20 ms (restart 1)",
      "start: crasher exited unexpectedly (code 3); restarting it in 40 ms (restart 2)",
      "start: crasher exited unexpectedly (code 3); restarting it in 80 ms (restart 3)",
      "start: crasher exited unexpectedly (code 3); restarting it in 80 ms (restart 4)",
      "start: crasher exited unexpectedly (code 3); restarting it in 80 ms (restart 5)",
    ]);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  });

  it("goes back to the first delay once a restarted child has stayed up", async () => {
    const run = supervise({ initialMs: 20, maxMs: 10_000, resetAfterMs: 1_000 }, [{ name: "steady", commands: [crash(1), crash(1), stayUp] }]);
    const [third] = await run.until(/^spawned steady 3 /);
    await run.until(/^start: steady has stayed up 1 s; its restart backoff is back to 20 ms$/);
    process.kill(pidOf(third!), "SIGKILL");
    await run.until(/^spawned steady 4 /);
    expect(run.lines.filter((line) => /exited unexpectedly/.test(line))).toEqual([
      "start: steady exited unexpectedly (code 1); restarting it in 20 ms (restart 1)",
      "start: steady exited unexpectedly (code 1); restarting it in 40 ms (restart 2)",
      "start: steady exited unexpectedly (SIGKILL); restarting it in 20 ms (restart 1)",
    ]);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  });

  it("on stop, cancels a pending restart and stops the running children, the last started first, restarting none", async () => {
    const run = supervise({ initialMs: 60_000, maxMs: 60_000, resetAfterMs: 60_000 }, [
      { name: "first", commands: [stayUp] },
      { name: "waiting", commands: [crash(1)] },
      { name: "last", commands: [stayUp] },
    ]);
    const [first] = await run.until(/^spawned first 1 /);
    const [last] = await run.until(/^spawned last 1 /);
    await run.until(/^start: waiting exited unexpectedly \(code 1\); restarting it in 60 s \(restart 1\)$/);
    const stoppingFrom = run.lines.length;
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(run.lines.slice(stoppingFrom)).toEqual(["start: last stopped", "start: first stopped", "stopped"]);
    for (const line of [first!, last!]) expect(() => process.kill(pidOf(line), 0)).toThrow(/ESRCH/);
  });
});

async function untilReadyAgain(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (error) {
      last = String((error as { cause?: { code?: string } }).cause?.code ?? error);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} not ready again after ${timeoutMs} ms: ${last}`);
}

describe("npm start (scripts/start.mjs)", () => {
  // Only the gateway: it needs no database (so none of the run's, whose outbox relays other
  // suites watch, and no migrations), and it is a real service all the same. The database
  // server is one that is not there: if START_ONLY were ignored, start would fail before
  // touching a developer's databases or ports.
  const startEnv = (extra: Record<string, string>) =>
    testEnv({
      LOG_LEVEL: "info",
      DATABASE_SERVER_URL: "postgresql://postgres@127.0.0.1:1",
      JWT_PRIVATE_KEY: required("TEST_JWT_PRIVATE_KEY"),
      RATE_LIMIT_KEY_PREFIX: `rate-limit:test:${randomUUID()}:`,
      ...extra,
    });

  it("restarts a service killed with SIGKILL, says so, and on SIGTERM stops it without restarting anything", async () => {
    const port = await unusedPort();
    const start = launch(join(root, "scripts", "start.mjs"), [], startEnv({ START_ONLY: "gateway", GATEWAY_PORT: String(port) }));
    await start.until(/supergraph is ready/, 1, 90_000);
    const [listening] = await start.until(/^\[gateway\] .*"msg":"listening"/);
    const killed = pidOf(listening!);
    process.kill(killed, "SIGKILL");

    expect(await start.until(/^start: gateway exited/)).toEqual(["start: gateway exited unexpectedly (SIGKILL); restarting it in 1 s (restart 1)"]);
    const [, relistening] = await start.until(/^\[gateway\] .*"msg":"listening"/, 2, 60_000);
    const restarted = pidOf(relistening!);
    expect(restarted).not.toBe(killed);
    await untilReadyAgain(`http://127.0.0.1:${port}`);

    const stoppingFrom = start.lines.length;
    start.child.kill("SIGTERM");
    expect(await start.exited).toBe(0);
    const whileStopping = start.lines.slice(stoppingFrom);
    expect(whileStopping).toContain("start: gateway stopped");
    expect(whileStopping.filter((line) => /^start: (restarting|.* exited unexpectedly)/.test(line))).toEqual([]);
    expect(() => process.kill(restarted, 0)).toThrow(/ESRCH/);
  }, 180_000);

  it("refuses to start when START_ONLY names a process it does not run", async () => {
    const start = launch(join(root, "scripts", "start.mjs"), [], startEnv({ START_ONLY: "gateway,nonesuch", GATEWAY_PORT: String(await unusedPort()) }));
    expect(await start.exited).toBe(1);
    expect(start.lines).toContainEqual(expect.stringMatching(/^start: START_ONLY: unknown process nonesuch \(npm start runs identity, .*, gateway\)$/));
    expect(start.lines.filter((line) => /^\[/.test(line))).toEqual([]);
  });
});
