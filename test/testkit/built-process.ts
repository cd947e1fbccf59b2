import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

const root = join(__dirname, "..", "..");
const alive = new Set<ChildProcess>();
// A test that fails while its process still runs must not leave the process behind.
process.once("exit", () => alive.forEach((child) => child.kill("SIGKILL")));

export type LogEntry = Record<string, unknown>;

export type BuiltProcess = {
  child: ChildProcess;
  /** Resolves with the first JSON log line, from now on, that `match` accepts; rejects after `timeoutMs` or when the process exits first. */
  waitForLog(match: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** Sends `signal` and resolves with the exit code. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
};

/**
 * A built entry point (`dist/*.js`, what `npm start` and the containers run) as its own OS
 * process with exactly `env` (plus PATH) and `nodeFlags` before it, its JSON log lines on
 * stdout readable by tests (and benches, bench/lib/services.ts).
 */
export function startBuiltProcess(entry: string, env: NodeJS.ProcessEnv, nodeFlags: readonly string[] = []): BuiltProcess {
  const child = spawn(process.execPath, [...nodeFlags, join(root, entry)], { cwd: root, env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  alive.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      alive.delete(child);
      exitCode = code;
      resolve(code);
    }),
  );
  const waiters = new Set<{ match: (entry: LogEntry) => boolean; resolve: (entry: LogEntry) => void }>();
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let entry: LogEntry;
    try {
      entry = JSON.parse(line) as LogEntry;
    } catch {
      return;
    }
    for (const waiter of waiters) {
      if (!waiter.match(entry)) continue;
      waiters.delete(waiter);
      waiter.resolve(entry);
    }
  });
  return {
    child,
    waitForLog: (match, timeoutMs = 20_000) =>
      new Promise<LogEntry>((resolve, reject) => {
        if (exitCode !== undefined) return reject(new Error(`${entry} exited (${exitCode}): ${stderr}`));
        const waiter = {
          match,
          resolve: (found: LogEntry) => {
            clearTimeout(timer);
            resolve(found);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${entry}: log line not seen in ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then((code) => {
          if (!waiters.delete(waiter)) return;
          clearTimeout(timer);
          reject(new Error(`${entry} exited (${code}) before logging what was awaited: ${stderr}`));
        });
      }),
    kill: (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}
