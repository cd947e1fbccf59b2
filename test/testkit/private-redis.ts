import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unusedPort } from "./ports";

export type PrivateRedis = {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** SIGKILL: no shutdown save, and with persistence off the data is gone. */
  kill(): Promise<void>;
  /** A fresh, empty server on the same port (after kill). */
  start(): Promise<void>;
  /** Kills it (if running) and removes its directory. */
  stop(): Promise<void>;
};

const alive = new Set<ChildProcess>();
// A failed test must not leave a redis-server behind.
process.once("exit", () => alive.forEach((child) => child.kill("SIGKILL")));

/**
 * A redis-server of a test's own on a free loopback port, never the shared one on 6379 (other
 * suites run against that at the same time): for tests that kill Redis. It persists nothing
 * (`--save "" --appendonly no`), so a kill and a start are a Redis that lost all its data.
 * Needs the redis-server binary (Debian package `redis-server`): without it this throws, so
 * the suite fails instead of silently not testing anything.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `redis-server is not runnable (${probe.error?.message ?? probe.stderr}): install the Debian package redis-server (apt-get install redis-server); this test starts and kills a private Redis and must not be skipped`,
    );
  }
  const port = await unusedPort();
  const dir = mkdtempSync(join(tmpdir(), "startales-redis-"));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function start(): Promise<void> {
    const spawned = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--maxmemory-policy", "noeviction", "--loglevel", "warning"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    spawned.stderr?.on("data", (chunk) => (stderr += chunk));
    alive.add(spawned);
    exited = new Promise((resolve) =>
      spawned.once("exit", () => {
        alive.delete(spawned);
        resolve();
      }),
    );
    child = spawned;
    const deadline = Date.now() + 10_000;
    while (!(await pong(port))) {
      if (spawned.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function kill(): Promise<void> {
    child?.kill("SIGKILL");
    await exited;
    child = undefined;
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when a server on `port` answers PING (a raw RESP call: no client library state to reset). */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}
