import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportCertificateExpiry } from "../../packages/service-kit/src/certificate-metrics";
import { createHttpService } from "../../packages/service-kit/src/http-server";
import { createLogger } from "../../packages/service-kit/src/logger";
import { createMetrics } from "../../packages/service-kit/src/metrics";
import { exportReadiness } from "../../packages/service-kit/src/readiness-metrics";
import { metricValue } from "../testkit/metrics";

/**
 * What every process says about itself on /metrics besides its traffic: `dependency_up` per
 * readiness check, run when scraped, and when the certificate it serves TLS with expires.
 */

const logger = createLogger("test", "silent");

describe("dependency_up", () => {
  it("is served by every HTTP service: 1 per passing readiness check, 0 per failing one", async () => {
    const metrics = createMetrics("test");
    const http = createHttpService({
      logger,
      metrics,
      readiness: [
        { name: "database", check: async () => 1 },
        { name: "redis", check: async () => { throw new Error("connect ECONNREFUSED 127.0.0.1:6379"); } },
      ],
      fallback: (_req, res) => void res.writeHead(404).end(),
    });
    const url = await http.listen(0, "127.0.0.1");
    try {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect([metricValue(text, "dependency_up", { dependency: "database" }), metricValue(text, "dependency_up", { dependency: "redis" })]).toEqual([1, 0]);
    } finally {
      await http.close(1_000);
    }
  });

  it("follows the checks from one scrape to the next, and a second listener's checks join the first's", async () => {
    const metrics = createMetrics("test");
    let redisUp = false;
    exportReadiness(metrics, [{ name: "redis", check: async () => { if (!redisUp) throw new Error("down"); } }], { cacheMs: 0 });
    exportReadiness(metrics, [{ name: "supergraph", check: async () => "loaded" }]);
    exportReadiness(metrics, []);
    const up = async () => {
      const text = await metrics.registry.metrics();
      return { redis: metricValue(text, "dependency_up", { dependency: "redis" }), supergraph: metricValue(text, "dependency_up", { dependency: "supergraph" }) };
    };
    expect(await up()).toEqual({ redis: 0, supergraph: 1 });
    redisUp = true;
    expect(await up()).toEqual({ redis: 1, supergraph: 1 });
  });
});

describe("tls_certificate_expiry_timestamp_seconds", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "startales-cert-metrics-"));
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
      "-subj", "/CN=localhost", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is the served certificate's notAfter, as openssl reads it", async () => {
    const cert = readFileSync(join(dir, "cert.pem"));
    const notAfter = execFileSync("openssl", ["x509", "-noout", "-enddate", "-in", join(dir, "cert.pem")], { encoding: "utf8" }).trim().replace(/^notAfter=/, "");
    const metrics = createMetrics("test");
    const http = createHttpService({ logger, metrics, readiness: [], fallback: (_req, res) => void res.writeHead(404).end(), tls: { cert, key: readFileSync(join(dir, "key.pem")) } });
    const text = await metrics.registry.metrics();
    expect(metricValue(text, "tls_certificate_expiry_timestamp_seconds")).toBe(Date.parse(notAfter) / 1000);
    // About 30 days ahead: the leaf's date, not a default.
    expect(metricValue(text, "tls_certificate_expiry_timestamp_seconds")! - Date.now() / 1000).toBeGreaterThan(29 * 86_400);
    await http.close(0);
  });

  it("is declared without a sample by a process that serves no TLS (never 0, which would read as expired)", async () => {
    const metrics = createMetrics("test");
    exportCertificateExpiry(metrics);
    createHttpService({ logger, metrics, readiness: [], fallback: (_req, res) => void res.writeHead(404).end() });
    const text = await metrics.registry.metrics();
    expect(text).toContain("# TYPE tls_certificate_expiry_timestamp_seconds gauge");
    expect(metricValue(text, "tls_certificate_expiry_timestamp_seconds")).toBeUndefined();
  });
});
