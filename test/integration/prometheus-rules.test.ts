import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parse } from "yaml";
import { ALERTMANAGER, PROMETHEUS, debianTool } from "../testkit/debian-packages";

/**
 * The Prometheus configuration of ops/prometheus with Debian's promtool: the rule files are
 * valid and their unit tests (ops/prometheus/tests, one per rule file) pass; every alert has
 * a summary, a description and a runbook_url that leads to a section of docs/runbooks.md;
 * the local scrape configuration covers every process of the stack on its port. A broken
 * rule and a wrong expectation fail, so a pass means something. The Alertmanager example is
 * checked structurally and with Debian's amtool (installed by the test if missing).
 */

const root = resolve(__dirname, "..", "..");
const ops = join(root, "ops", "prometheus");
const promtool = join(dirname(debianTool(PROMETHEUS)), "promtool");
const run = (args: string[], cwd = root) => spawnSync(promtool, args, { cwd, encoding: "utf8", timeout: 60_000 });
const ruleFiles = readdirSync(join(ops, "rules")).filter((f) => f.endsWith(".yml")).sort();
const testFiles = readdirSync(join(ops, "tests")).filter((f) => f.endsWith(".yml")).sort();

type Rule = { alert?: string; record?: string; expr: string; annotations?: Record<string, string>; labels?: Record<string, string> };
const groups = ruleFiles.flatMap((file) => (parse(readFileSync(join(ops, "rules", file), "utf8")) as { groups: { name: string; rules: Rule[] }[] }).groups.map((g) => ({ file, ...g })));
const alerts = groups.flatMap((g) => g.rules.filter((r) => r.alert).map((r) => ({ file: g.file, ...r })));

/** GitHub's anchors of docs/runbooks.md's headings (as test/unit/docs.test.ts computes them). */
const runbookAnchors = new Set(
  [...readFileSync(join(root, "docs", "runbooks.md"), "utf8").matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)].map((m) =>
    m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "").replace(/ /g, "-"),
  ),
);

describe("ops/prometheus rules", () => {
  it("promtool check rules accepts every rule file", () => {
    expect(ruleFiles.length).toBeGreaterThanOrEqual(5);
    const result = run(["check", "rules", ...ruleFiles.map((f) => join(ops, "rules", f))]);
    expect({ status: result.status, out: result.stdout + result.stderr }).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
  });

  it("promtool test rules passes, with one test file per rule file", () => {
    expect(testFiles).toEqual(ruleFiles);
    for (const file of testFiles) {
      const test = parse(readFileSync(join(ops, "tests", file), "utf8")) as { rule_files: string[] };
      expect({ file, rule_files: test.rule_files }).toEqual({ file, rule_files: [`../rules/${file}`] });
    }
    const result = run(["test", "rules", ...testFiles.map((f) => join(ops, "tests", f))]);
    expect({ status: result.status, out: result.stdout + result.stderr }).toEqual({ status: 0, out: expect.not.stringContaining("FAILED") });
  });

  it("the unit tests see every alert fire at least once", () => {
    const fired = new Set(
      testFiles.flatMap((file) => {
        const test = parse(readFileSync(join(ops, "tests", file), "utf8")) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };
        return test.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname));
      }),
    );
    expect(alerts.map((a) => a.alert).filter((name) => !fired.has(name!))).toEqual([]);
  });

  it("gives every alert a severity, summary, description and a runbook_url into docs/runbooks.md", () => {
    expect(alerts.length).toBeGreaterThan(10);
    for (const alert of alerts) {
      const { summary, description, runbook_url: url } = alert.annotations ?? {};
      expect({ alert: alert.alert, severity: alert.labels?.severity, summary: !!summary, description: !!description }).toEqual({
        alert: alert.alert,
        severity: expect.stringMatching(/^(page|ticket)$/),
        summary: true,
        description: true,
      });
      const [path, anchor] = (url ?? "").split("#");
      expect({ alert: alert.alert, path, anchor: runbookAnchors.has(anchor ?? "") ? "a section" : anchor }).toEqual({ alert: alert.alert, path: "docs/runbooks.md", anchor: "a section" });
    }
  });

  it("fails a rule file that does not parse, and a unit test whose expectation is wrong", () => {
    const dir = mkdtempSync(join(tmpdir(), "prometheus-rules-"));
    try {
      writeFileSync(join(dir, "broken.yml"), "groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum(rate(graphql_errors_total[5m]) > \n");
      const broken = run(["check", "rules", join(dir, "broken.yml")]);
      expect(broken.status).not.toBe(0);
      expect(broken.stdout + broken.stderr).toMatch(/FAILED|parse error/);

      // The real workers.yml rules, with the dead-letter alert expected where it cannot fire.
      const test = readFileSync(join(ops, "tests", "workers.yml"), "utf8").replace("../rules/workers.yml", join(ops, "rules", "workers.yml"));
      const wrong = test.replace(/(alertname: NotificationRequestsDeadLettered\n\s+eval_time: )29m/, "$135m\n        exp_alerts: []\n      - alertname: NotificationRequestsDeadLettered\n        eval_time: 29m");
      expect(wrong).not.toBe(test);
      writeFileSync(join(dir, "wrong.yml"), wrong);
      const failed = run(["test", "rules", join(dir, "wrong.yml")]);
      expect(failed.status).not.toBe(0);
      expect(failed.stdout + failed.stderr).toContain("NotificationRequestsDeadLettered");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("ops/prometheus scrape configurations", () => {
  it("promtool check config accepts the local and the compose configuration (with their rules)", () => {
    for (const file of ["prometheus.yml", "prometheus.compose.yml"]) {
      const result = run(["check", "config", join(ops, file)]);
      expect({ file, status: result.status, out: result.stdout + result.stderr }).toEqual({ file, status: 0, out: expect.not.stringContaining("FAILED") });
    }
  });

  it("scrapes every process of the local stack on its port, the job named after the process", () => {
    // As scripts/stack-processes.mjs plans it: subgraphs on supergraph.yaml's ports, worker
    // pools (a src/worker.ts) on port + 10, the gateway on 4000.
    const supergraph = parse(readFileSync(join(root, "supergraph.yaml"), "utf8")) as { subgraphs: Record<string, { routing_url: string }> };
    const expected: Record<string, string> = { gateway: "127.0.0.1:4000" };
    for (const [name, { routing_url }] of Object.entries(supergraph.subgraphs)) {
      const port = Number(new URL(routing_url).port);
      expected[name] = `127.0.0.1:${port}`;
      if (existsSync(join(root, "subgraphs", name, "src", "worker.ts"))) expected[`${name}-worker`] = `127.0.0.1:${port + 10}`;
    }
    const config = parse(readFileSync(join(ops, "prometheus.yml"), "utf8")) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[]; metrics_path?: string }[] };
    const jobs = Object.fromEntries(config.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets).join(",")]));
    expect(jobs).toEqual(expected);
    for (const c of config.scrape_configs) expect(c.metrics_path ?? "/metrics").toBe("/metrics");
    // Compose scrapes the same processes by service name.
    const compose = parse(readFileSync(join(ops, "prometheus.compose.yml"), "utf8")) as { scrape_configs: { job_name: string }[] };
    expect(compose.scrape_configs.map((c) => c.job_name).sort()).toEqual(Object.keys(expected).sort());
  });

  it("the Kubernetes configuration keeps annotated startales pods and names the job after the pod", () => {
    // Debian's prometheus is built without Kubernetes service discovery: promtool cannot load
    // this file, so its relabeling is checked here against the annotations of k8s/base.
    const config = parse(readFileSync(join(ops, "prometheus.kubernetes.yml"), "utf8")) as { scrape_configs: { relabel_configs: { source_labels: string[]; target_label?: string; action?: string; regex?: string }[] }[] };
    const relabel = config.scrape_configs[0]!.relabel_configs;
    const sources = relabel.map((r) => r.source_labels.join(";"));
    expect(sources).toEqual(
      expect.arrayContaining([
        "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
        "__meta_kubernetes_pod_annotation_prometheus_io_path",
        "__address__;__meta_kubernetes_pod_annotation_prometheus_io_port",
      ]),
    );
    expect(relabel.find((r) => r.target_label === "job")?.source_labels).toEqual(["__meta_kubernetes_pod_label_app_kubernetes_io_name"]);
  });
});

describe("ops/alertmanager/alertmanager.yml", () => {
  const file = join(root, "ops", "alertmanager", "alertmanager.yml");
  type Route = { receiver?: string; matchers?: string[]; routes?: Route[] };
  const config = parse(readFileSync(file, "utf8")) as { route: Route; receivers: { name: string; webhook_configs?: { url: string }[] }[] };

  it("routes to receivers it defines, pages apart from tickets, every receiver a webhook", () => {
    const names = config.receivers.map((r) => r.name);
    const used = (route: Route): string[] => [...(route.receiver ? [route.receiver] : []), ...(route.routes ?? []).flatMap(used)];
    expect(used(config.route).every((name) => names.includes(name))).toBe(true);
    const severities = (config.route.routes ?? []).flatMap((r) => r.matchers ?? []);
    expect(severities).toEqual(expect.arrayContaining(['severity="page"', 'severity="ticket"']));
    for (const receiver of config.receivers) expect(receiver.webhook_configs?.[0]?.url).toMatch(/^https?:\/\//);
  });

  it("amtool check-config accepts it (Debian's prometheus-alertmanager)", () => {
    const amtool = debianTool(ALERTMANAGER);
    const result = spawnSync(amtool, ["check-config", file], { encoding: "utf8", timeout: 60_000 });
    expect({ status: result.status, out: result.stdout + result.stderr }).toEqual({ status: 0, out: expect.stringContaining("SUCCESS") });
  });
});
