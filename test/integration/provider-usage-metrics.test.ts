import { randomUUID } from "node:crypto";
import { expectData } from "../testkit/graphql-client";
import { startFakeOpenAi, type FakeOpenAi } from "../testkit/fake-openai";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { startProvider, type ProviderHarness } from "../testkit/provider";

/**
 * AI tokens and cost on the provider worker pool's /metrics after real calls to a fake vendor
 * on loopback (the OpenAI wire protocol, usage 21 prompt + 9 completion tokens per call):
 * counted per successful call by deployment, configured model and direction, priced by the
 * deployment; a failed call and a cached answer cost nothing. The pool's queue series are
 * there from the start.
 */

const TEXT = "mutation($input: GenerateTextInput!) { generateText(input: $input) { id } }";
let vendor: FakeOpenAi;
let provider: ProviderHarness;
const player = randomUUID();

beforeAll(async () => {
  vendor = await startFakeOpenAi({ reply: "The envoy returns with news." });
  process.env.PROVIDER_KEY_TEST = "sk-test-usage-metrics";
  const deployment = (name: string, priority: number) => ({
    name,
    kind: "TEXT",
    driver: "OPENAI",
    modelGroup: "text",
    model: `${name}-model`,
    baseUrl: vendor.baseUrl,
    apiKeyEnv: "PROVIDER_KEY_TEST",
    timeoutMs: 2_000,
    priority,
    inputCostMicrosPer1k: 150,
    outputCostMicrosPer1k: 600,
    requestCostMicros: 1_000,
  });
  provider = await startProvider({ PROVIDER_DEPLOYMENTS: JSON.stringify([deployment("usage-a", 0), deployment("usage-b", 1)]) });
});
afterAll(async () => {
  await provider?.stop();
  await vendor?.stop();
});

async function generate(prompt: string) {
  const response = await provider.call<{ generateText: { id: string } }>(player, TEXT, { input: { idempotencyKey: randomUUID(), prompt } });
  return provider.finished(player, expectData(response).generateText.id);
}

async function usage(deployment: string) {
  const text = await fetchMetrics(provider.workerUrl);
  const labels = { deployment, model: `${deployment}-model` };
  return {
    input: metricValue(text, "provider_vendor_tokens_total", { ...labels, direction: "input" }),
    output: metricValue(text, "provider_vendor_tokens_total", { ...labels, direction: "output" }),
    cost: metricValue(text, "provider_vendor_cost_usd_total", labels),
  };
}

describe("provider_vendor_tokens_total and provider_vendor_cost_usd_total", () => {
  it("count each successful call's tokens and its price, not the failed call before it nor a cached answer", async () => {
    const prompt = `Tell of the envoy ${randomUUID()}`;
    // The first deployment fails once (500): the job succeeds on the second.
    vendor.queue({ kind: "status", status: 500 });
    expect(await generate(prompt)).toMatchObject({ status: "SUCCEEDED", deployment: "usage-b" });
    // Per call: ceil((21 × 150 + 9 × 600) / 1000) + 1000 micro-dollars.
    expect(await usage("usage-b")).toEqual({ input: 21, output: 9, cost: 0.001009 });
    expect(await usage("usage-a")).toEqual({ input: undefined, output: undefined, cost: undefined });

    // The failing deployment rests (cooldown): the next job goes to the second one too.
    expect(await generate(`Another tale ${randomUUID()}`)).toMatchObject({ status: "SUCCEEDED", deployment: "usage-b" });
    expect(await usage("usage-b")).toEqual({ input: 42, output: 18, cost: 0.002018 });

    // The same prompt again: the response cache answers, no vendor is called.
    expect(await generate(prompt)).toMatchObject({ status: "SUCCEEDED", usage: { cached: true } });
    expect(await usage("usage-b")).toEqual({ input: 42, output: 18, cost: 0.002018 });
    expect(await usage("usage-a")).toEqual({ input: undefined, output: undefined, cost: undefined });
    expect(vendor.calls("/v1/chat/completions")).toHaveLength(3);
  });

  it("exports the provider queue's depth and stalled jobs", async () => {
    const text = await fetchMetrics(provider.workerUrl);
    for (const state of ["waiting", "prioritized", "delayed", "active", "failed"]) {
      expect({ state, value: metricValue(text, "bullmq_queue_jobs", { queue: "provider-jobs", state }) }).toEqual({ state, value: expect.any(Number) });
    }
    expect(metricValue(text, "bullmq_jobs_stalled_total", { queue: "provider-jobs" })).toBe(0);
  });
});
