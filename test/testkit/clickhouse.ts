import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLICKHOUSE, debianTool } from "./debian-packages";
import { unusedPort } from "./ports";

export type PrivateClickHouse = {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Created, empty, when the server starts. */
  database: string;
  /**
   * SIGTERM, then removes its directory. Close the clients first: the server waits for open
   * keep-alive connections before it exits (SIGKILL after 5 s).
   */
  stop(): Promise<void>;
};

const alive = new Set<ChildProcess>();
// A failed test must not leave a clickhouse-server behind.
process.once("exit", () => alive.forEach((child) => child.kill("SIGKILL")));

// Loopback only and no password: the server is private to one test file and gone after it.
const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default/></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default/></quotas>
</yandex>
`;

// HTTP only: without <tcp_port> (or <interserver_http_port>) 18.16 opens no other port.
// <timezone> pins how DateTime text is read and written, whatever the machine's TZ is;
// 18.16 refuses to start without <mark_cache_size>.
const config = (dir: string, httpPort: number) => `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>${dir}/server.log</log>
    <errorlog>${dir}/error.log</errorlog>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <users_config>${dir}/users.xml</users_config>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
`;

/**
 * A clickhouse-server of the caller's own (Debian's `clickhouse-server`, installed if missing)
 * on a free loopback port, with its data in a temporary directory, and a database created in
 * it. Call it once per test file (beforeAll) and stop it in afterAll.
 */
export async function startClickHouse(database = "startales_analytics"): Promise<PrivateClickHouse> {
  if (!/^\w+$/.test(database)) throw new Error(`not a plain database name: ${database}`);
  const binary = debianTool(CLICKHOUSE);
  const dir = mkdtempSync(join(tmpdir(), "startales-clickhouse-"));
  const port = await unusedPort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(dir, "users.xml"), USERS);
  writeFileSync(join(dir, "config.xml"), config(dir, port));

  const child = spawn(binary, [`--config-file=${join(dir, "config.xml")}`], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString("utf8")).slice(-4000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  alive.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      alive.delete(child);
      resolve();
    }),
  );

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  try {
    const deadline = Date.now() + 30_000;
    while (!(await pings(url))) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        const why = child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : "did not answer /ping within 30 s";
        throw new Error(`clickhouse-server (${binary}) on ${url} ${why}:\n${output}\n${tail(join(dir, "error.log"))}\n${tail(join(dir, "server.log"))}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const created = await request(url, `CREATE DATABASE ${database}`);
    if (created.status !== 200) throw new Error(`CREATE DATABASE ${database} on ${url}: ${created.status} ${created.body}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, database, stop };
}

/** True when the server answers GET /ping with its "Ok.". */
async function pings(url: string): Promise<boolean> {
  const { status, body } = await request(`${url}/ping`).catch(() => ({ status: 0, body: "" }));
  return status === 200 && body.startsWith("Ok.");
}

/**
 * One HTTP request on a connection of its own, closed after it: on SIGTERM clickhouse-server
 * waits out its keep-alive connections (10 s), which fetch would leave open.
 */
function request(url: string, sql?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: sql === undefined ? "GET" : "POST", agent: false, timeout: 5_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.once("timeout", () => req.destroy(new Error(`${url}: no answer within 5 s`)));
    req.once("error", reject);
    req.end(sql);
  });
}

function tail(path: string): string {
  return existsSync(path) ? `${path}:\n${readFileSync(path, "utf8").slice(-4000)}` : `${path}: none`;
}
