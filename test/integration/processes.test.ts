import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { required } from "../testkit/config";

const root = join(__dirname, "..", "..");

type Exit = { code: number | null; stdout: string; stderr: string };

// A test that fails while its process still runs must not leave the process behind.
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
});

/** Runs a built entry point (what `npm start` and the containers run) with exactly `env`. */
function launch(entry: string, env: Record<string, string>): { child: ChildProcess; exited: Promise<Exit>; lines: AsyncIterable<string> } {
  const child = spawn(process.execPath, [join(root, entry)], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => (stdout += chunk));
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  running.add(child);
  const exited = new Promise<Exit>((resolve) =>
    child.on("exit", (code) => {
      running.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, exited, lines: createInterface({ input: child.stdout! }) };
}

async function listeningUrl(lines: AsyncIterable<string>): Promise<string> {
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === "listening" && entry.url) return entry.url;
  }
  throw new Error("process exited before listening");
}

const campaignEnv = () => ({
  PORT: "0",
  LOG_LEVEL: "info",
  DATABASE_URL: required("CAMPAIGN_DATABASE_URL"),
  GATEWAY_SIGNING_SECRET: required("TEST_GATEWAY_SIGNING_SECRET"),
});

describe("every process validates its config and shuts down gracefully", () => {
  it("exits 1 naming a missing secret", async () => {
    const { GATEWAY_SIGNING_SECRET: _omitted, ...env } = campaignEnv();
    const { code, stderr } = await launch("subgraphs/campaign/dist/main.js", env).exited;
    expect(code).toBe(1);
    expect(stderr).toMatch(/GATEWAY_SIGNING_SECRET: is required/);
  });

  it("exits 1 naming each bad value", async () => {
    const { code, stderr } = await launch("subgraphs/identity/dist/main.js", {
      ...campaignEnv(),
      PORT: "not-a-port",
      JWT_PRIVATE_KEY: "nonsense",
    }).exited;
    expect(code).toBe(1);
    expect(stderr).toMatch(/PORT:/);
    expect(stderr).toMatch(/JWT_PRIVATE_KEY: must be a PKCS#8 PEM private key/);
  });

  it("the gateway rejects a subgraph URL override that is not a URL", async () => {
    const { code, stderr } = await launch("gateway/dist/main.js", {
      PORT: "0",
      GATEWAY_SIGNING_SECRET: required("TEST_GATEWAY_SIGNING_SECRET"),
      SUBGRAPH_CAMPAIGN_URL: "campaign:4002",
    }).exited;
    expect(code).toBe(1);
    expect(stderr).toMatch(/SUBGRAPH_CAMPAIGN_URL: must be a URL/);
  });

  it("serves health, then drains and exits 0 on SIGTERM", async () => {
    const proc = launch("subgraphs/campaign/dist/main.js", campaignEnv());
    const url = await listeningUrl(proc.lines);
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${url}/health/ready`);
    expect(await ready.json()).toEqual({ ready: true, checks: { database: "ok", redis: "ok" } });
    proc.child.kill("SIGTERM");
    const exit = await proc.exited;
    expect(exit.code).toBe(0);
    expect(exit.stdout).toMatch(/"msg":"shutting down"/);
    expect(exit.stdout).toMatch(/"msg":"stopped"/);
  });
});
