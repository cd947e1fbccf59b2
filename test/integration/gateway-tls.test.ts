import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import WebSocket from "ws";
import { ConfigError, type Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { loadGatewayConfig } from "../../gateway/src/config";
import { gatewayTestConfig } from "../testkit/config";
import { captureLogs } from "../testkit/logs";
import { untilReady } from "../testkit/ready";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser } from "../testkit/users";

/** A gateway deployed without a TLS-terminating ingress serves HTTPS from its own cert files. */
describe("the gateway terminates TLS itself", () => {
  let dir: string;
  let stack: Stack;
  let gateway: GatewayApp;
  let url: string;
  let trusting: Agent;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "startales-tls-"));
    // A throwaway self-signed certificate for 127.0.0.1, made with the system's openssl.
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    trusting = new Agent({ connect: { ca: readFileSync(join(dir, "cert.pem")) } });
    stack = await startStack({ logLevel: "warn" });
    gateway = createGatewayApp(
      gatewayTestConfig({ identity: stack.identityUrl, campaign: stack.campaignUrl }, `${stack.identityUrl}/.well-known/jwks.json`, {
        TLS_CERT_FILE: join(dir, "cert.pem"),
        TLS_KEY_FILE: join(dir, "key.pem"),
      }),
      captureLogs("gateway", "warn").logger as Logger,
    );
    url = await gateway.listen();
    await untilReady(url, (target) => undiciFetch(target, { dispatcher: trusting }));
  });
  afterAll(async () => {
    await gateway?.stop();
    await stack?.stop();
    await trusting?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("listens on https and serves health and GraphQL over it", async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await undiciFetch(`${url}/health/ready`, { dispatcher: trusting })).status).toBe(200);
    const response = await undiciFetch(`${url}/graphql`, {
      dispatcher: trusting,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ me { id } }" }),
    });
    expect(await response.json()).toEqual({ data: { me: null } });
  });

  it("serves graphql-ws over WSS on the same port, and only to clients that trust the certificate", async () => {
    const user = await registerUser(stack.graphqlUrl, "Secure");
    const wss = `${url.replace("https:", "wss:")}/graphql`;
    const secure = new WebSocket(wss, "graphql-transport-ws", { ca: readFileSync(join(dir, "cert.pem")) });
    const answers: unknown[] = [];
    secure.on("message", (data) => answers.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => secure.once("open", resolve).once("error", reject));
    const until = async (count: number) => {
      for (let i = 0; i < 250 && answers.length < count; i++) await new Promise((r) => setTimeout(r, 20));
    };
    secure.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${user.accessToken}` } }));
    await until(1);
    secure.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "{ me { displayName } }" } }));
    await until(3);
    expect(answers).toEqual([
      { type: "connection_ack" },
      { id: "1", type: "next", payload: { data: { me: { displayName: "Secure" } } } },
      { id: "1", type: "complete" },
    ]);
    secure.close();

    const untrusting = new WebSocket(wss, "graphql-transport-ws");
    await expect(new Promise((resolve, reject) => untrusting.once("open", resolve).once("error", reject))).rejects.toThrow(/self.signed|certificate/i);
  });

  it("speaks no plain HTTP on the TLS port, and clients that do not trust the certificate are refused", async () => {
    await expect(fetch(`${url.replace("https:", "http:")}/health/live`)).rejects.toThrow();
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
  });

  it("needs both files, readable and of the right kind", () => {
    const base = { GATEWAY_SIGNING_SECRET: "x".repeat(40) };
    const issuesOf = (env: Record<string, string>) => {
      try {
        loadGatewayConfig({ ...base, ...env });
      } catch (error) {
        if (error instanceof ConfigError) return error.issues.map((i) => `${i.variable}: ${i.message}`);
        throw error;
      }
      return [];
    };
    expect(issuesOf({ TLS_CERT_FILE: join(dir, "cert.pem") })).toEqual(["TLS_KEY_FILE: is required when the other TLS file is set"]);
    expect(issuesOf({ TLS_CERT_FILE: join(dir, "missing.pem"), TLS_KEY_FILE: join(dir, "key.pem") })).toEqual([
      `TLS_CERT_FILE: cannot read ${join(dir, "missing.pem")}: ENOENT`,
    ]);
    writeFileSync(join(dir, "swapped.pem"), readFileSync(join(dir, "key.pem")));
    expect(issuesOf({ TLS_CERT_FILE: join(dir, "swapped.pem"), TLS_KEY_FILE: join(dir, "key.pem") })).toEqual([
      `TLS_CERT_FILE: ${join(dir, "swapped.pem")} is not a PEM file of the right kind`,
    ]);
    expect(issuesOf({})).toEqual([]);
  });
});
