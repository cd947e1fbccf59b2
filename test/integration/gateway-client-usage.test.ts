import { randomUUID } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { MAX_CLIENT_NAMES } from "../../gateway/src/client-identity";
import { composeFromConfig } from "../../scripts/compose";
import { gatewayTestConfig } from "../testkit/config";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";


const root = join(__dirname, "..", "..");
/** Every subgraph with a schema, as supergraph.yaml lists them. */
const subgraphNames = () => readdirSync(join(root, "subgraphs")).filter((name) => existsSync(join(root, "subgraphs", name, "schema.graphql")));
const DEPRECATION = '@deprecated(reason: "use x; removal after 2099-01-01")';

/**
 * Today's supergraph with Campaign.tickRateMs and CreateCampaignInput.tickRateMs deprecated,
 * composed from copies of supergraph.yaml and the subgraph schemas: the gateway learns what
 * is deprecated from the supergraph alone, whatever the subgraphs run.
 */
function supergraphWithDeprecations(): string {
  const dir = mkdtempSync(join(tmpdir(), "supergraph-deprecated-"));
  copyFileSync(join(root, "supergraph.yaml"), join(dir, "supergraph.yaml"));
  for (const name of subgraphNames()) {
    const target = join(dir, "subgraphs", name, "schema.graphql");
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(root, "subgraphs", name, "schema.graphql"), target);
  }
  const campaignSchema = join(dir, "subgraphs", "campaign", "schema.graphql");
  const original = readFileSync(campaignSchema, "utf8");
  const deprecated = original
    .replace("  tickRateMs: Int!\n", `  tickRateMs: Int! ${DEPRECATION}\n`)
    .replace("  tickRateMs: Int\n", `  tickRateMs: Int ${DEPRECATION}\n`);
  expect(deprecated.split(DEPRECATION)).toHaveLength(3);
  writeFileSync(campaignSchema, deprecated);
  const { sdl, errors } = composeFromConfig(join(dir, "supergraph.yaml"));
  if (!sdl) throw new Error(`composition failed: ${errors.join("; ")}`);
  const path = join(dir, "supergraph.graphql");
  writeFileSync(path, sdl);
  return path;
}

describe("client usage and deprecated field metrics", () => {
  let stack: Stack;
  let gateway: GatewayApp;
  let gatewayUrl: string;
  let url: string;
  let alice: TestUser;
  let campaignId: string;

  beforeAll(async () => {
    stack = await startStack({ logLevel: "warn" });
    gateway = createGatewayApp(
      gatewayTestConfig({ identity: stack.identityUrl, campaign: stack.campaignUrl }, `${stack.identityUrl}/.well-known/jwks.json`, {
        SUPERGRAPH_PATH: supergraphWithDeprecations(),
      }),
      captureLogs("gateway", "warn").logger as Logger,
    );
    gatewayUrl = await gateway.listen();
    url = `${gatewayUrl}/graphql`;
    alice = await registerUser(url, "Alice");
    const created = await postGraphQL<{ createCampaign: { id: string } }>(url, { query: 'mutation { createCampaign(input: { name: "Deprecations" }) { id } }' }, { token: alice.accessToken });
    campaignId = expectData(created).createCampaign.id;
  });
  afterAll(async () => {
    await gateway?.stop();
    await stack?.stop();
  });

  const web = { "apollographql-client-name": "web", "apollographql-client-version": "1.2.3" };
  const usage = async (field: string, client = { client_name: "web", client_version: "1.2.3" }) =>
    metricValue(await fetchMetrics(gatewayUrl), "graphql_deprecated_field_usage_total", { field, ...client }) ?? 0;
  const requests = async (client_name: string, client_version: string) =>
    metricValue(await fetchMetrics(gatewayUrl), "graphql_client_requests_total", { client_name, client_version }) ?? 0;
  const query = (text: string, headers: Record<string, string> = web, variables?: Record<string, unknown>) =>
    postGraphQL<Record<string, unknown>>(url, { query: text, variables }, { token: alice.accessToken, headers });

  it("counts an operation that uses a deprecated field, by client", async () => {
    const before = await usage("Campaign.tickRateMs");
    const requestsBefore = await requests("web", "1.2.3");
    const response = await query("query Tick($id: ID!) { campaign(id: $id) { id tickRateMs } }", web, { id: campaignId });
    expect(expectData(response).campaign).toEqual({ id: campaignId, tickRateMs: 1000 });
    expect(await usage("Campaign.tickRateMs")).toBe(before + 1);
    expect(await requests("web", "1.2.3")).toBe(requestsBefore + 1);
    // The same document again: counted again (its analysis is cached, the count is not).
    await query("query Tick($id: ID!) { campaign(id: $id) { id tickRateMs } }", web, { id: campaignId });
    expect(await usage("Campaign.tickRateMs")).toBe(before + 2);
  });

  it("does not count an operation that does not use it", async () => {
    const before = await usage("Campaign.tickRateMs");
    const requestsBefore = await requests("web", "1.2.3");
    expectData(await query("query Name($id: ID!) { campaign(id: $id) { id name maxPlayers } }", web, { id: campaignId }));
    expect(await usage("Campaign.tickRateMs")).toBe(before);
    expect(await requests("web", "1.2.3")).toBe(requestsBefore + 1);
  });

  it("finds the field through fragments, once per operation, and only in the operation that runs", async () => {
    const before = await usage("Campaign.tickRateMs");
    const document = `
      query WithFragments($id: ID!) { campaign(id: $id) { ...Outer ... on Campaign { tickRateMs } } }
      query Other($id: ID!) { campaign(id: $id) { ...Unused } }
      fragment Outer on Campaign { id ...Inner }
      fragment Inner on Campaign { tickRateMs }
      fragment Unused on Campaign { name }`;
    const reply = await postGraphQL<Record<string, unknown>>(url, { query: document, variables: { id: campaignId }, operationName: "WithFragments" }, { token: alice.accessToken, headers: web });
    expectData(reply);
    expect(await usage("Campaign.tickRateMs")).toBe(before + 1);
    const other = await postGraphQL<Record<string, unknown>>(url, { query: document, variables: { id: campaignId }, operationName: "Other" }, { token: alice.accessToken, headers: web });
    expectData(other);
    expect(await usage("Campaign.tickRateMs")).toBe(before + 1);
  });

  it("counts deprecated input fields, written inline or passed in variables", async () => {
    const field = "CreateCampaignInput.tickRateMs";
    const before = await usage(field);
    expectData(await query('mutation { createCampaign(input: { name: "Inline", tickRateMs: 500 }) { id } }'));
    expect(await usage(field)).toBe(before + 1);
    const mutation = "mutation Create($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }";
    expectData(await query(mutation, web, { input: { name: "Variables", tickRateMs: 500 } }));
    expect(await usage(field)).toBe(before + 2);
    expectData(await query(mutation, web, { input: { name: "Without it" } }));
    expect(await usage(field)).toBe(before + 2);
  });

  it("accepts x-client-name/-version, and labels a client that does not say as unknown", async () => {
    const other = { client_name: "tools", client_version: "7" };
    const before = await usage("Campaign.tickRateMs", other);
    await query("query Tick($id: ID!) { campaign(id: $id) { tickRateMs } }", { "x-client-name": "tools", "x-client-version": "7" }, { id: campaignId });
    expect(await usage("Campaign.tickRateMs", other)).toBe(before + 1);
    const anonymousBefore = await requests("unknown", "unknown");
    await query("{ me { id } }", {});
    expect(await requests("unknown", "unknown")).toBe(anonymousBefore + 1);
  });

  it("bounds hostile client headers: cleaned, cut to 64 characters, and at most so many distinct names", async () => {
    const hostile = { "apollographql-client-name": `<script>"evil"</script>\\n${"x".repeat(1000)}`, "apollographql-client-version": "1.0 } injected{a=\"b\"" };
    expectData(await query("query Tick($id: ID!) { campaign(id: $id) { tickRateMs } }", hostile, { id: campaignId }));
    const cleanName = `_script_evil_script_n${"x".repeat(64)}`.slice(0, 64);
    expect(await usage("Campaign.tickRateMs", { client_name: cleanName, client_version: "1.0_injected_a_b_" })).toBe(1);

    // A flood of made-up names: the first ones are kept, the rest count as "other".
    for (let i = 0; i < MAX_CLIENT_NAMES + 10; i++) {
      expectData(await query("{ me { id } }", { "apollographql-client-name": `flood-${randomUUID()}`, "apollographql-client-version": randomUUID() }));
    }
    const metrics = await fetchMetrics(gatewayUrl);
    const names = new Set<string>();
    for (const line of metrics.split("\n").filter((l) => l.startsWith("graphql_client_requests_total{"))) {
      const name = /client_name="([^"]*)"/.exec(line)?.[1] ?? "";
      const version = /client_version="([^"]*)"/.exec(line)?.[1] ?? "";
      expect(name).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
      expect(version).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
      names.add(name);
    }
    expect(names.size).toBeLessThanOrEqual(MAX_CLIENT_NAMES + 1);
    expect(metricValue(metrics, "graphql_client_requests_total", { client_name: "other", client_version: "other" })).toBeGreaterThanOrEqual(10);
    // Clients it already knows keep their own labels.
    const known = await requests("web", "1.2.3");
    await query("{ me { id } }");
    expect(await requests("web", "1.2.3")).toBe(known + 1);
  });

  it("shows clients the deprecation and its reason through introspection", async () => {
    const reply = await postGraphQL<{ __type: { fields: { name: string; isDeprecated: boolean; deprecationReason: string | null }[] } }>(url, {
      query: '{ __type(name: "Campaign") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }',
    });
    const tickRate = expectData(reply).__type.fields.find((f) => f.name === "tickRateMs");
    expect(tickRate).toEqual({ name: "tickRateMs", isDeprecated: true, deprecationReason: "use x; removal after 2099-01-01" });
  });
});
