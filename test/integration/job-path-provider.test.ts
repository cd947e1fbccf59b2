import { randomUUID } from "node:crypto";
import { createRedis, type Redis } from "@startales/service-kit";
import { createJobQueue } from "../../subgraphs/provider/src/queue";
import { errorCodes, expectData } from "../testkit/graphql-client";
import { startProvider, type ProviderHarness } from "../testkit/provider";
import { deleteKeysMatching } from "../testkit/redis-keys";

/**
 * The provider's job path as it runs under load: concurrent mutations queued together (one
 * addBulk per turn), the insert itself answering a repeated idempotency key, the worker's
 * one-statement claim. Whatever arrives together or twice, each key is one job, run and
 * billed once.
 */
const TEXT = "mutation($input: GenerateTextInput!) { generateText(input: $input) { id status } }";
const IMAGE = "mutation($input: GenerateImageInput!) { generateImage(input: $input) { id } }";
const JOB = "query($id: ID!) { job(id: $id) { id status attempts usage { promptTokens completionTokens cached } } }";

type Job = { id: string; status: string; attempts: number; usage: { promptTokens: number; completionTokens: number; cached: boolean } };

async function finished(provider: ProviderHarness, userId: string, id: string): Promise<Job> {
  for (let i = 0; i < 400; i++) {
    const job = expectData(await provider.call<{ job: Job }>(userId, JOB, { id })).job;
    if (job.status === "SUCCEEDED" || job.status === "FAILED") return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${id} did not finish`);
}

describe("provider job path, unlimited budgets (the insert finds repeats)", () => {
  let provider: ProviderHarness;
  let redis: Redis;
  const prefix = `provider:test:${randomUUID()}:`;
  beforeAll(async () => {
    provider = await startProvider({ PROVIDER_REDIS_PREFIX: prefix, PROVIDER_BUDGET_PLAYER_REQUESTS: "0", PROVIDER_BUDGET_PLAYER_TOKENS: "0", PROVIDER_BUDGET_PLAYER_COST_MICROS: "0" });
    redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "job-path-test");
  });
  afterAll(async () => {
    await provider?.stop();
    await deleteKeysMatching(redis, `${prefix}*`);
    redis?.disconnect();
  });

  it("a burst of mutations, each key sent twice at once: one job per key, each run once", async () => {
    const player = randomUUID();
    const keys = Array.from({ length: 30 }, () => randomUUID());
    const answers = await Promise.all(
      [...keys, ...keys].map((key, i) => provider.call<{ generateText: { id: string } }>(player, TEXT, { input: { idempotencyKey: key, style: "NARRATION", prompt: `Burst ${i % keys.length} ${key}` } })),
    );
    const ids = answers.map((answer) => expectData(answer).generateText.id);
    // The same key, the same job; distinct keys, distinct jobs.
    expect(ids.slice(0, keys.length)).toEqual(ids.slice(keys.length));
    expect(new Set(ids).size).toBe(keys.length);
    const jobs = await Promise.all(ids.slice(0, keys.length).map((id) => finished(provider, player, id)));
    for (const job of jobs) {
      expect(job).toMatchObject({ status: "SUCCEEDED", attempts: 1, usage: { cached: false } });
      expect(job.usage.completionTokens).toBeGreaterThan(0);
    }
  });

  it("a finished job queued again is left alone: not run, not billed again", async () => {
    const player = randomUUID();
    const id = expectData(await provider.call<{ generateText: { id: string } }>(player, TEXT, { input: { idempotencyKey: randomUUID(), style: "NARRATION", prompt: "Once only" } })).generateText.id;
    const first = await finished(provider, player, id);
    const queue = createJobQueue(redis, prefix, 3);
    try {
      // Its finished entry replaced by a new one, as a sweep or an operator would.
      await (await queue.getJob(id))?.remove();
      await queue.add("run", { jobId: id }, { jobId: id });
      for (let i = 0; i < 400 && (await queue.getJobState(id)) !== "completed"; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await queue.getJobState(id)).toBe("completed");
    } finally {
      await queue.close();
    }
    expect(await finished(provider, player, id)).toEqual(first);
  });

  it("in a burst that shares one INSERT, a row PostgreSQL refuses fails its own mutation only", async () => {
    const player = randomUUID();
    // jsonb cannot hold U+0000 (the gateway refuses it; a caller reaching the subgraph directly is not refused before the insert).
    const prompts = ["Good one", "Bad \u0000 one", "Good two", "Good three"];
    const answers = await Promise.all(prompts.map((prompt) => provider.call<{ generateText: { id: string } }>(player, TEXT, { input: { idempotencyKey: randomUUID(), style: "NARRATION", prompt } })));
    expect(answers.map((answer) => (answer.errors ? "error" : "ok"))).toEqual(["ok", "error", "ok", "ok"]);
    for (const answer of [answers[0]!, answers[2]!, answers[3]!]) expect(await finished(provider, player, expectData(answer).generateText.id)).toMatchObject({ status: "SUCCEEDED" });
  });

  it("a key reused for another kind of job is a CONFLICT, found by the insert", async () => {
    const player = randomUUID();
    const key = randomUUID();
    expectData(await provider.call(player, TEXT, { input: { idempotencyKey: key, style: "NARRATION", prompt: "First" } }));
    expect(errorCodes(await provider.call(player, IMAGE, { input: { idempotencyKey: key, subject: "PLANET", prompt: "Second", size: 64 } }))).toEqual(["CONFLICT"]);
  });
});

describe("provider job path with a budget (repeats are answered before it is checked)", () => {
  let provider: ProviderHarness;
  beforeAll(async () => {
    provider = await startProvider({ PROVIDER_BUDGET_PLAYER_REQUESTS: "2" });
  });
  afterAll(async () => {
    await provider?.stop();
  });

  it("refuses a new job over the budget, still answers a repeat of one it took", async () => {
    const player = randomUUID();
    const send = (key: string) => provider.call<{ generateText: { id: string } }>(player, TEXT, { input: { idempotencyKey: key, style: "NARRATION", prompt: `Budget ${key}` } });
    const [a, b] = [randomUUID(), randomUUID()];
    const first = expectData(await send(a)).generateText.id;
    expectData(await send(b));
    expect(errorCodes(await send(randomUUID()))).toEqual(["RATE_LIMITED"]);
    expect(expectData(await send(a)).generateText.id).toBe(first);
  });
});
