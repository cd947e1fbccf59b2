import { randomBytes, randomUUID } from "node:crypto";
import { SERVICE_ATTRIBUTE, startTracing, type Tracing } from "@startales/service-kit";
import { privateDatabase } from "../testkit/databases";
import { startFakeOpenAi, type FakeOpenAi } from "../testkit/fake-openai";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../testkit/otlp-receiver";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * OpenTelemetry traces across the graph (docs/tracing.md), exported over OTLP/HTTP to a real
 * receiver on loopback. The stack runs in this process under the one tracer provider the test
 * starts; each span says its service in `startales.service`. A client's `traceparent` is
 * continued by the gateway, the subgraph, and the work done later: the tick that applies a
 * command, and the provider worker that runs a job and calls the vendor.
 */
let receiver: OtlpReceiver;
let tracing: Tracing;
let fake: FakeOpenAi;
let stack: Stack;
let campaignDatabase: Awaited<ReturnType<typeof privateDatabase>> | undefined;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  tracing = await startTracing("startales-test", { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: 1 });
  fake = await startFakeOpenAi({ reply: "The beacon flickers twice, then goes dark." });
  // Its own campaign database: every stack's simulation worker hears every campaign's
  // lifecycle events, and one from a suite running beside this one (no exporter) would find
  // this campaign in a shared database and could run the tick this test follows.
  campaignDatabase = await privateDatabase("campaign", "tracing");
  stack = await startStack({
    logLevel: "warn",
    campaignEnv: { DATABASE_URL: campaignDatabase.url },
    providerEnv: {
      PROVIDER_DEPLOYMENTS: JSON.stringify([{ name: "storyteller-1", kind: "TEXT", modelGroup: "storyteller", model: "fake-gpt", baseUrl: fake.baseUrl, priority: 0 }]),
    },
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await campaignDatabase?.drop();
  await tracing?.shutdown();
  await fake?.stop();
  await receiver?.stop();
});

/** A client's own trace context, sampled: `00-<trace id>-<span id>-01`. */
function clientTraceparent() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
}

const call = (user: TestUser, query: string, variables: Record<string, unknown>, traceparent?: string) =>
  postGraphQL<Record<string, unknown>>(stack.graphqlUrl, { query, variables }, { token: user.accessToken, headers: traceparent ? { traceparent } : {} });

/** The trace's spans once one of them matches `until` (the exporter batches: flush, then look). */
async function traceUntil(traceId: string, what: string, until: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan[]> {
  return eventually(
    what,
    async () => {
      await tracing.flush();
      const spans = receiver.spans.filter((span) => span.traceId === traceId);
      return spans.some(until) ? spans : undefined;
    },
    60_000,
  );
}

const serviceOf = (span: ReceivedSpan) => span.attributes[SERVICE_ATTRIBUTE];
const find = (spans: ReceivedSpan[], service: string, name: string) => spans.find((span) => serviceOf(span) === service && span.name === name);

/** Whether `span` is `ancestor` or below it in the trace `spans`. */
function isUnder(spans: ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  for (let current: ReceivedSpan | undefined = span; current; current = spans.find((parent) => parent.spanId === current!.parentSpanId)) {
    if (current.spanId === ancestor.spanId) return true;
  }
  return false;
}
/** SQL statements' spans (not the pool's `pg-pool.connect`). */
const statementsOf = (spans: ReceivedSpan[]) => spans.filter((span) => span.attributes["db.system.name"] === "postgresql" && span.attributes["db.query.text"] !== undefined);
const commandsOf = (spans: ReceivedSpan[]) => spans.filter((span) => span.attributes["db.system.name"] === "redis");

it("one trace links a submitCommand through the gateway and simulation to the tick that applies it", async () => {
  const gm = await registerUser(stack.graphqlUrl, "Trace GM");
  const pilot = await registerUser(stack.graphqlUrl, "Trace Pilot");
  const campaignId = (
    expectData(await call(gm, "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", { input: { name: `Traced ${randomUUID().slice(0, 6)}`, tickRateMs: 200 } })).createCampaign as { id: string }
  ).id;
  expectData(await call(pilot, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId }));
  expectData(await call(gm, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: campaignId }));

  const client = clientTraceparent();
  const submitted = expectData(
    await call(pilot, "mutation($input: SubmitCommandInput!) { submitCommand(input: $input) { id status } }", { input: { campaignId, type: "SET_TAX", payload: { rate: 30 }, idempotencyKey: "traced-tax" } }, client.header),
  ).submitCommand as { id: string };

  const spans = await traceUntil(client.traceId, "the tick's span of the command", (span) => span.name === "apply command");
  const gatewayRequest = find(spans, "gateway", "POST /graphql");
  expect(gatewayRequest).toBeDefined();
  // The gateway continued the client's span rather than starting a trace of its own.
  expect(gatewayRequest!.parentSpanId).toBe(client.spanId);
  const fetch = find(spans, "gateway", "fetch simulation");
  expect(fetch).toBeDefined();
  const subgraphRequest = find(spans, "simulation", "POST /graphql");
  expect(subgraphRequest?.parentSpanId).toBe(fetch!.spanId);
  const applied = find(spans, "simulation-worker", "apply command");
  expect(applied?.attributes).toMatchObject({ "startales.command_id": submitted.id, "startales.campaign_id": campaignId, "startales.command_type": "SET_TAX" });
  expect(applied!.parentSpanId).toBe(subgraphRequest!.spanId);
  expect(find(spans, "gateway", "graphql.execute")).toBeDefined();
  // Simulation asked campaign whether the pilot may command: campaign's request is in the same trace, under simulation's.
  const campaignRequest = find(spans, "campaign", "POST /graphql");
  expect(campaignRequest).toBeDefined();
  expect(isUnder(spans, campaignRequest!, subgraphRequest!)).toBe(true);

  // The command's INSERT is a client span under the simulation subgraph's request, with its
  // parameterized text and never its values.
  const insert = statementsOf(spans).find((span) => /^INSERT INTO "(public"\.")?commands"/.test(String(span.attributes["db.query.text"])));
  expect(insert).toMatchObject({ name: "INSERT", attributes: { "db.operation.name": "INSERT", [SERVICE_ATTRIBUTE]: "simulation" } });
  expect(isUnder(spans, insert!, subgraphRequest!)).toBe(true);
  // The command's idempotency key is one of the INSERT's values.
  expect(JSON.stringify(statementsOf(spans))).not.toContain("traced-tax");
  // The gateway's Redis commands for the request (the rate limiter's script), by name only.
  const gatewayCommands = commandsOf(spans).filter((span) => serviceOf(span) === "gateway");
  expect(gatewayCommands.length).toBeGreaterThan(0);
  for (const command of gatewayCommands) {
    expect(command.attributes["db.operation.name"]).toBe(command.name);
    expect(isUnder(spans, command, gatewayRequest!)).toBe(true);
    expect(command.attributes).not.toHaveProperty("db.query.text");
  }

  // The tick is a trace of its own, and its statements are in it, under its span.
  const tick = await eventually(
    "a tick's span for the campaign",
    async () => {
      await tracing.flush();
      return receiver.spans.find((span) => span.name === "tick" && span.attributes["startales.campaign_id"] === campaignId);
    },
    60_000,
  );
  const tickTrace = receiver.spans.filter((span) => span.traceId === tick.traceId);
  const tickStatements = statementsOf(tickTrace).filter((span) => isUnder(tickTrace, span, tick));
  expect(tickStatements.length).toBeGreaterThan(0);
  expect(tickStatements.every((span) => serviceOf(span) === "simulation-worker")).toBe(true);
  expect(receiver.rejected).toEqual([]);
}, 90_000);

it("one trace links a generateText to the provider worker that runs it and its vendor call", async () => {
  const narrator = await registerUser(stack.graphqlUrl, "Trace Narrator");
  const client = clientTraceparent();
  const job = expectData(
    await call(narrator, "mutation($i: GenerateTextInput!) { generateText(input: $i) { id } }", { i: { idempotencyKey: randomUUID(), model: "storyteller", prompt: "The beacon at the edge of the sector." } }, client.header),
  ).generateText as { id: string };

  // The job's span ends last: after its vendor call.
  const spans = await traceUntil(client.traceId, "the provider job's span", (span) => span.name === "provider job");
  expect(find(spans, "gateway", "POST /graphql")?.parentSpanId).toBe(client.spanId);
  const subgraphRequest = find(spans, "provider", "POST /graphql");
  expect(subgraphRequest).toBeDefined();
  const worker = find(spans, "provider-worker", "provider job");
  expect(worker?.attributes).toMatchObject({ "startales.job_id": job.id });
  expect(worker!.parentSpanId).toBe(subgraphRequest!.spanId);
  const vendor = find(spans, "provider-worker", "vendor POST /chat/completions");
  expect(vendor?.attributes).toMatchObject({ "startales.deployment": "storyteller-1", "http.response.status_code": 200 });
  // The vendor is outside: it gets no trace headers.
  expect(fake.requests.every((request) => request.headers.traceparent === undefined)).toBe(true);
}, 90_000);
