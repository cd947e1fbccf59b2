import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { PROMETHEUS, debianTool } from "../testkit/debian-packages";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { unusedPort } from "../testkit/ports";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { subscribe, wsClient } from "../testkit/subscriptions";
import { registerUser } from "../testkit/users";

/**
 * The rules of ops/prometheus and the dashboards of ops/grafana against the real stack:
 * Debian's Prometheus (its own port and data directory on loopback) scrapes every process of
 * a test stack after a little traffic, and loads the repository's rule files. Every metric a
 * rule or a panel names is declared by a scraped process, and has samples unless it only
 * moves on a failure (UNDER_FAILURE_ONLY says which and why); every rule group evaluates
 * without error; every panel's query runs.
 */

const root = resolve(__dirname, "..", "..");

/** Metrics that only get a sample when something fails or a rare path runs: declared, not sampled. */
const UNDER_FAILURE_ONLY: Record<string, string> = {
  graphql_deprecated_field_usage_total: "only when an operation uses a deprecated schema element",
  simulation_reconciler_repairs_total: "only when Redis lost a schedule or a lifecycle job",
  outbox_events_restored_total: "only when a relay rebuilds streams Redis lost",
  provider_jobs_total: "only once an AI job finished",
  provider_cache_lookups_total: "only once an AI job looked up the response cache",
  provider_vendor_calls_total: "only once a vendor deployment is called (none is configured here)",
  provider_vendor_call_seconds_total: "only once a vendor deployment is called",
  provider_vendor_tokens_total: "only once a vendor deployment answers",
  provider_vendor_cost_usd_total: "only once a vendor deployment answers",
  tls_certificate_expiry_timestamp_seconds: "only in a process that serves TLS itself (TLS_CERT_FILE); the test stack serves plain HTTP",
  notification_deliveries_total: "only once a push delivery finished (no push service here)",
  gateway_subscription_events_skipped_total: "only when an event's subject is gone",
  gateway_subscription_events_replayed_total: "only when a client resumes with `after`",
  gateway_subscription_event_retries_total: "only when a subgraph is unavailable to a subscription",
  gateway_subscription_events_unavailable_total: "only when a subgraph stays unavailable to a subscription",
  gateway_ws_closed_total: "only when the gateway closes a connection",
};

// ---------------------------------------------------------------------------------------
// What the repository's rules and dashboards query.

type RuleGroup = { name: string; rules: { record?: string; alert?: string; expr: string }[] };
const ruleDir = join(root, "ops", "prometheus", "rules");
const ruleFiles = readdirSync(ruleDir).filter((f) => f.endsWith(".yml")).map((f) => join(ruleDir, f));
const ruleGroups = ruleFiles.flatMap((file) => (parse(readFileSync(file, "utf8")) as { groups: RuleGroup[] }).groups);
const dashboardDir = join(root, "ops", "grafana", "dashboards");
type Panel = { title?: string; targets?: { expr?: string }[]; panels?: Panel[] };
const panelQueries = readdirSync(dashboardDir)
  .filter((f) => f.endsWith(".json"))
  .flatMap((file) => {
    const flat = (panels: Panel[] = []): Panel[] => panels.flatMap((p) => [p, ...flat(p.panels)]);
    return flat((JSON.parse(readFileSync(join(dashboardDir, file), "utf8")) as { panels: Panel[] }).panels).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${file}: ${p.title}`, expr: t.expr! })));
  });

/** A panel's query as Grafana sends it: its variables replaced by values Prometheus accepts. */
const asGrafanaSends = (expr: string) => expr.replaceAll("$__rate_interval", "1m").replace(/\$\{?(\w+)\}?/g, ".+");

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool", "inf", "nan"]);
/** Metric names a PromQL expression selects (recording rules' names, with a colon, excluded). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  return [...bare.matchAll(/(?<![\w:.$])([a-zA-Z_][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map((m) => m[1]!).filter((name) => !KEYWORDS.has(name.toLowerCase()) && !name.includes(":"));
}
const histogramBase = (name: string) => name.replace(/_(bucket|count|sum)$/, "");

// ---------------------------------------------------------------------------------------
// The stack, its traffic, and Prometheus.

let stack: Stack;
let workers: Server;
let prometheus: ChildProcess | undefined;
let promUrl: string;
let dataDir: string;
let prometheusLog = "";
const clients: ReturnType<typeof wsClient>[] = [];

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${promUrl}${path}`);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
  return body.data;
}

const instant = async (query: string) => (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(query)}`)).result;

beforeAll(async () => {
  const binary = debianTool(PROMETHEUS);
  stack = await startStack({ logLevel: "warn" });

  // The stack does not hand out its worker pools' URLs; their registries are what those
  // processes serve on /metrics, so this serves them the same way, one path each.
  const registries = {
    "simulation-worker": stack.apps.simulationWorker.metrics.registry,
    "provider-worker": stack.apps.providerWorker.metrics.registry,
    "notification-worker": stack.apps.notificationWorker.metrics.registry,
    "analytics-worker": stack.apps.analyticsWorker.metrics.registry,
  };
  workers = createServer((req, res) => {
    const registry = registries[(req.url ?? "").replace(/^\/metrics\//, "") as keyof typeof registries];
    if (!registry) return void res.writeHead(404).end();
    void registry.metrics().then((text) => res.writeHead(200, { "content-type": registry.contentType }).end(text));
  });
  await new Promise<void>((done) => workers.listen(0, "127.0.0.1", done));
  const workersAddress = `127.0.0.1:${(workers.address() as AddressInfo).port}`;

  // A little of everything: sign-ups, a campaign that ticks, a subscription that gets its
  // events, a query, errors a caller causes.
  const gm = await registerUser(stack.graphqlUrl, "Metrics GM");
  const player = await registerUser(stack.graphqlUrl, "Metrics Player");
  const call = <T = Record<string, unknown>>(token: string, query: string, variables: Record<string, unknown> = {}) => postGraphQL<T>(stack.graphqlUrl, { query, variables }, { token, headers: { "apollographql-client-name": "metrics-e2e", "apollographql-client-version": "1" } });
  const created = expectData(
    await call<{ createCampaign: { id: string } }>(gm.accessToken, "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", { input: { name: `Metrics ${randomUUID().slice(0, 6)}`, tickRateMs: 200 } }),
  );
  const campaignId = created.createCampaign.id;
  expectData((await call(player.accessToken, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId })));
  const client = wsClient(stack.graphqlUrl, { token: player.accessToken });
  clients.push(client);
  const events = subscribe<{ campaignEvents: { type: string } }>(client, "subscription($id: ID!) { campaignEvents(campaignId: $id) { id type } }", { id: campaignId });
  expectData((await call(gm.accessToken, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: campaignId })));
  await eventually("a TICK_COMPLETED delivered", async () => (events.results.some((r) => r.data?.campaignEvents.type === "TICK_COMPLETED") ? true : undefined), 30_000);
  expectData((await call(player.accessToken, "query($id: ID!) { campaign(id: $id) { status world { tick } } }", { id: campaignId })));
  // A caller's mistake (not a server error): graphql_errors_total gets its first sample.
  await call(player.accessToken, "{ noSuchField }");

  const port = await unusedPort();
  promUrl = `http://127.0.0.1:${port}`;
  dataDir = mkdtempSync(join(tmpdir(), "prometheus-e2e-"));
  const hostOf = (url: string) => new URL(url).host;
  const targets: Record<string, { address: string; path: string }> = {
    gateway: { address: hostOf(stack.gatewayUrl), path: "/metrics" },
    identity: { address: hostOf(stack.identityUrl), path: "/metrics" },
    campaign: { address: hostOf(stack.campaignUrl), path: "/metrics" },
    simulation: { address: hostOf(stack.simulationUrl), path: "/metrics" },
    provider: { address: hostOf(stack.providerUrl), path: "/metrics" },
    notification: { address: hostOf(stack.notificationUrl), path: "/metrics" },
    analytics: { address: hostOf(stack.analyticsUrl), path: "/metrics" },
    realtime: { address: hostOf(stack.realtimeUrl), path: "/metrics" },
    ...Object.fromEntries(Object.keys(registries).map((name) => [name, { address: workersAddress, path: `/metrics/${name}` }])),
  };
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: ruleFiles,
    scrape_configs: Object.entries(targets).map(([job, { address, path }]) => ({ job_name: job, metrics_path: path, static_configs: [{ targets: [address] }] })),
  };
  writeFileSync(join(dataDir, "prometheus.yml"), JSON.stringify(config));
  prometheus = spawn(binary, [`--config.file=${join(dataDir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dataDir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "pipe"] });
  prometheus.stdout!.on("data", (chunk) => (prometheusLog += chunk));
  prometheus.stderr!.on("data", (chunk) => (prometheusLog += chunk));

  await eventually(
    "every target up",
    async () => {
      const { activeTargets } = await api<{ activeTargets: { labels: { job: string }; health: string }[] }>("/api/v1/targets").catch(() => ({ activeTargets: [] }));
      return activeTargets.length === Object.keys(targets).length && activeTargets.every((t) => t.health === "up") ? true : undefined;
    },
    60_000,
    250,
  );
  // A rate needs two scrapes, and the rules an evaluation after them: wait for a recorded
  // series of the traffic, then for every group to have been evaluated since.
  // Counters read the same on every scrape have no rate: keep querying until the recorded
  // gateway error ratio (0: no server errors) shows requests between scrapes.
  await eventually(
    "the gateway's recorded error ratio",
    async () => {
      expectData(await call(player.accessToken, "query($id: ID!) { campaign(id: $id) { status world { tick } } }", { id: campaignId }));
      return (await instant('service:graphql_server_errors:ratio_rate5m{service="gateway"}')).length > 0 ? true : undefined;
    },
    30_000,
    250,
  );
  const since = Date.now();
  await eventually(
    "every rule group evaluated again",
    async () => {
      const { groups } = await api<{ groups: { lastEvaluation: string }[] }>("/api/v1/rules");
      return groups.length === ruleGroups.length && groups.every((g) => Date.parse(g.lastEvaluation) > since) ? true : undefined;
    },
    30_000,
    250,
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((done) => prometheus!.once("exit", done));
    prometheus.kill("SIGTERM");
    await exited;
  }
  workers?.closeAllConnections();
  await new Promise((done) => (workers ? workers.close(done) : done(undefined)));
  await stack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("Prometheus against the stack", () => {
  it("every metric the rules and dashboards use is declared by a scraped process, and has samples unless it moves only on failures", async () => {
    const used = new Set([...ruleGroups.flatMap((g) => g.rules.map((r) => r.expr)), ...panelQueries.map((q) => q.expr)].flatMap(metricNames));
    expect(used.size).toBeGreaterThan(30);
    const declared = new Set(Object.keys(await api<Record<string, unknown>>("/api/v1/metadata")));
    const sampled = new Set(await api<string[]>("/api/v1/label/__name__/values"));
    const undeclared = [...used].filter((name) => !declared.has(histogramBase(name)) && !sampled.has(name) && name !== "up");
    expect(undeclared).toEqual([]);
    const missing = [...used].filter((name) => !sampled.has(name) && !(histogramBase(name) in UNDER_FAILURE_ONLY) && !(name in UNDER_FAILURE_ONLY));
    expect(missing).toEqual([]);
    // The exemption list names only metrics that are used and really declared.
    for (const name of Object.keys(UNDER_FAILURE_ONLY)) expect({ name, used: used.has(name), declared: declared.has(name) }).toEqual({ name, used: true, declared: true });
  });

  it("every rule group evaluates without error", async () => {
    const { groups } = await api<{ groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] }>("/api/v1/rules");
    expect(groups.map((g) => g.name).sort()).toEqual(ruleGroups.map((g) => g.name).sort());
    const unhealthy = groups.flatMap((g) => g.rules.filter((r) => r.health !== "ok").map((r) => `${g.name}/${r.name}: ${r.health} ${r.lastError ?? ""}`));
    expect(unhealthy).toEqual([]);
  });

  it("the recording rules turn the traffic into series: requests, no server errors, ticks", async () => {
    expect(await instant('service:graphql_server_errors:ratio_rate5m{service="gateway"}')).toEqual([{ metric: { __name__: "service:graphql_server_errors:ratio_rate5m", service: "gateway" }, value: [expect.any(Number), "0"] }]);
    const outcomes = (await instant("outcome:simulation_tick_jobs:rate5m")).map((r) => r.metric.outcome);
    expect(outcomes).toContain("applied");
  });

  it("every dashboard query runs", async () => {
    const failed: string[] = [];
    for (const { where, expr } of panelQueries) {
      const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(asGrafanaSends(expr))}`);
      const body = (await response.json()) as { status: string; error?: string };
      if (body.status !== "success") failed.push(`${where}: ${body.error}`);
    }
    expect(failed).toEqual([]);
  });
});
