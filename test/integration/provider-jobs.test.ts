import { randomUUID } from "node:crypto";
import { Worker } from "bullmq";
import { createRedis } from "@startales/service-kit";
import { createDb } from "../../subgraphs/provider/src/db";
import { createJobSweep } from "../../subgraphs/provider/src/domain/job-sweep";
import { PROVIDER_QUEUE, createJobQueue, queuePrefix, type QueueData } from "../../subgraphs/provider/src/queue";
import { privateDatabase } from "../testkit/databases";
import { errorCodes, expectData } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { startProvider, type ProviderHarness } from "../testkit/provider";

/**
 * The provider subgraph and its worker pool with no vendor at all: the offline engines
 * answer text, speech and images (and transcription: provider-offline-transcription.test.ts);
 * generated audio and images are stored in the content subgraph (the harness's own, whose origin
 * stands for the gateway's in their URLs) and served with immutable cache headers.
 */
let provider: ProviderHarness;
const player = randomUUID();
const other = randomUUID();
const admin = randomUUID();

beforeAll(async () => {
  provider = await startProvider();
});
afterAll(async () => {
  await provider?.stop();
});

const TEXT = "mutation($input: GenerateTextInput!) { generateText(input: $input) { id status kind streamStartId } }";
const generate = async (userId: string, input: Record<string, unknown>) => {
  const response = await provider.call<{ generateText: { id: string } }>(userId, TEXT, { input: { idempotencyKey: randomUUID(), ...input } });
  return expectData(response).generateText.id;
};

describe("offline provider (no keys configured)", () => {
  it("an NPC speaks: deterministic dialogue from the offline narrator, usage recorded, the same key returns the same job", async () => {
    const key = randomUUID();
    const input = { idempotencyKey: key, style: "DIALOGUE", speaker: "Quartermaster Vex", prompt: "Where can I buy a jump drive?" };
    const first = expectData(await provider.call<{ generateText: { id: string; status: string } }>(player, TEXT, { input })).generateText;
    const again = expectData(await provider.call<{ generateText: { id: string } }>(player, TEXT, { input })).generateText;
    expect(again.id).toBe(first.id);
    const job = await provider.finished(player, first.id);
    expect(job).toMatchObject({ status: "SUCCEEDED", deployment: "offline-narrator", model: "startales-narrator-1", attempts: 1 });
    expect(job.text).toMatch(/^Quartermaster Vex: ".+"$/);
    expect((job.usage as { completionTokens: number }).completionTokens).toBeGreaterThan(0);
    expect((job.usage as { costMicros: number }).costMicros).toBe(0);

    // The same request by someone else: the same words, from the cache this time.
    const second = await provider.finished(other, await generate(other, { style: "DIALOGUE", speaker: "Quartermaster  Vex", prompt: "Where can I buy a jump drive? " }));
    expect(second.text).toBe(job.text);
    expect(second.usage).toMatchObject({ cached: true, costMicros: 0, totalTokens: 0 });
    const metrics = await fetchMetrics(provider.workerUrl);
    expect(metricValue(metrics, "provider_cache_lookups_total", { kind: "TEXT", outcome: "memory" })).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, "provider_jobs_total", { kind: "TEXT", status: "SUCCEEDED", cached: "true" })).toBeGreaterThanOrEqual(1);
  });

  it("bypassCache runs the engine again", async () => {
    const prompt = `Describe the nebula ${randomUUID()}`;
    await provider.finished(player, await generate(player, { prompt }));
    const fresh = await provider.finished(player, await generate(player, { prompt, bypassCache: true }));
    expect(fresh.usage).toMatchObject({ cached: false });
  });

  it("speech is a WAV and portraits and planets are PNGs, stored in content and served by content address with immutable cache headers", async () => {
    const speech = expectData(
      await provider.call<{ synthesizeSpeech: { id: string } }>(player, "mutation($input: SynthesizeSpeechInput!) { synthesizeSpeech(input: $input) { id } }", {
        input: { idempotencyKey: randomUUID(), text: "Welcome aboard, captain. The stars are restless tonight." },
      }),
    ).synthesizeSpeech;
    const audio = await provider.finished(player, speech.id);
    expect(audio).toMatchObject({ status: "SUCCEEDED", contentType: "audio/wav" });
    const wav = await fetch(audio.contentUrl as string);
    expect(wav.status).toBe(200);
    expect(wav.headers.get("content-type")).toBe("audio/wav");
    expect(wav.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const bytes = Buffer.from(await wav.arrayBuffer());
    expect(bytes.subarray(0, 4).toString("ascii")).toBe("RIFF");
    expect(bytes.subarray(8, 12).toString("ascii")).toBe("WAVE");
    expect(bytes.length).toBeGreaterThan(16_000); // more than half a second of 16 kHz audio
    const etag = wav.headers.get("etag")!;
    expect((await fetch(audio.contentUrl as string, { headers: { "if-none-match": etag } })).status).toBe(304);
    // Content's, not the provider's own: its /content/ serves only what it kept before content.
    const sha = (audio.contentUrl as string).slice(`${provider.contentUrl}/content/`.length);
    expect(audio.contentUrl).toBe(`${provider.contentUrl}/content/${sha}`);
    expect(etag).toBe(`"${sha}"`);
    expect((await fetch(`${provider.url}/content/${sha}`)).status).toBe(404);

    for (const subject of ["PORTRAIT", "PLANET"]) {
      const image = expectData(
        await provider.call<{ generateImage: { id: string } }>(player, "mutation($input: GenerateImageInput!) { generateImage(input: $input) { id } }", {
          input: { idempotencyKey: randomUUID(), subject, prompt: "a weathered smuggler from Kepler-22b", size: 128 },
        }),
      ).generateImage;
      const done = await provider.finished(player, image.id);
      expect(done).toMatchObject({ status: "SUCCEEDED", contentType: "image/png", deployment: "offline-images" });
      const png = Buffer.from(await (await fetch(done.contentUrl as string)).arrayBuffer());
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(png.readUInt32BE(16)).toBe(128); // IHDR width
    }
    expect((await fetch(`${provider.url}/content/${"0".repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${provider.url}/content/../../etc/passwd`)).status).toBe(404);
  });

  it("a job is readable by its owner and admins only", async () => {
    const id = await generate(player, { prompt: "Hail the station" });
    const read = "query($id: ID!) { job(id: $id) { id owner { id } } }";
    expect(expectData(await provider.call<{ job: { owner: { id: string } } }>(player, read, { id })).job.owner.id).toBe(player);
    expect(errorCodes(await provider.call(other, read, { id }))).toEqual(["FORBIDDEN"]);
    expect(expectData(await provider.call<{ job: { id: string } }>(admin, read, { id }, ["ADMIN"])).job.id).toBe(id);
  });

  it("bad input is BAD_USER_INPUT, naming the field", async () => {
    const response = await provider.call(player, TEXT, { input: { idempotencyKey: randomUUID(), prompt: "x".repeat(4001) } });
    expect(errorCodes(response)).toEqual(["BAD_USER_INPUT"]);
    expect(JSON.stringify(response.errors)).toContain("prompt");
  });
});

describe("deployments managed by admins", () => {
  const UPSERT = "mutation($input: ProviderDeploymentInput!) { upsertProviderDeployment(input: $input) { name source health } }";
  const base = { kind: "TEXT", modelGroup: "vendor", model: "gpt-4o-mini" };

  it("refuses base URLs at link-local or metadata addresses, and keys from any variable but PROVIDER_KEY_*", async () => {
    for (const baseUrl of ["http://169.254.169.254/latest", "http://[fd00:ec2::254]/v1", "http://metadata.google.internal/v1", "http://[fe80::1]/v1", "ftp://vendor.example/v1"]) {
      const response = await provider.call(admin, UPSERT, { input: { ...base, name: "bad", baseUrl } }, ["ADMIN"]);
      expect({ baseUrl, codes: errorCodes(response) }).toEqual({ baseUrl, codes: ["BAD_USER_INPUT"] });
    }
    const secret = await provider.call(admin, UPSERT, { input: { ...base, name: "bad", baseUrl: "https://vendor.example/v1", apiKeyEnv: "GATEWAY_SIGNING_SECRET" } }, ["ADMIN"]);
    expect(errorCodes(secret)).toEqual(["BAD_USER_INPUT"]);
  });

  it("admins add, list and remove deployments (loopback allowed outside production); built-in ones are not theirs to change", async () => {
    const added = await provider.call(admin, UPSERT, { input: { ...base, name: "local-llm", baseUrl: "http://127.0.0.1:11434/v1", apiKeyEnv: "PROVIDER_KEY_LOCAL" } }, ["ADMIN"]);
    expect(expectData(added).upsertProviderDeployment).toEqual({ name: "local-llm", source: "ADMIN", health: "OK" });
    const list = expectData(await provider.call<{ providerDeployments: { name: string; source: string }[] }>(admin, "{ providerDeployments { name source } }", {}, ["ADMIN"]));
    expect(list.providerDeployments).toEqual(expect.arrayContaining([{ name: "local-llm", source: "ADMIN" }, { name: "offline-narrator", source: "BUILTIN" }]));
    expect(errorCodes(await provider.call(admin, UPSERT, { input: { ...base, name: "offline-narrator", driver: "OFFLINE" } }, ["ADMIN"]))).toEqual(["CONFLICT"]);
    expect(errorCodes(await provider.call(player, UPSERT, { input: { ...base, name: "mine", baseUrl: "https://vendor.example/v1" } }))).toEqual(["FORBIDDEN"]);
    expect(expectData(await provider.call(admin, 'mutation { deleteProviderDeployment(name: "local-llm") }', {}, ["ADMIN"]))).toEqual({ deleteProviderDeployment: true });
  });
});

describe("the worker pool's sweep (jobs whose queue entry Redis lost)", () => {
  it("queues again, once, the stale unfinished jobs whose entry is gone or failed; leaves fresh, finished and still-queued ones alone", async () => {
    // A database of its own: the sweep reads every unfinished job, and other suites' are not this test's.
    const database = await privateDatabase("provider", `sweep${randomUUID().slice(0, 6)}`);
    const db = createDb(database.url, 2);
    const connection = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "provider-sweep-test");
    const prefix = `provider:test:${randomUUID()}:`;
    const queue = createJobQueue(connection, prefix, 3);
    // Batches of 2 over 5 candidates: paging must reach them all.
    const sweep = createJobSweep({ db, queue, staleMs: 60_000, everyMs: 60_000, batchSize: 2, logger: captureLogs("provider-sweep", "warn").logger });
    const worker = new Worker<QueueData>(PROVIDER_QUEUE, null, { connection, prefix: queuePrefix(prefix), autorun: false });
    try {
      const old = new Date(Date.now() - 5 * 60_000);
      const row = (status: "QUEUED" | "RUNNING" | "SUCCEEDED", extra: { createdAt?: Date; startedAt?: Date } = {}) =>
        db.providerJob.create({ data: { kind: "TEXT", status, ownerId: randomUUID(), idempotencyKey: randomUUID(), input: {}, requestHash: "sweep", createdAt: old, ...extra } });
      // Its BullMQ job failed (e.g. stalled too often) while the row was never finished.
      const failed = await row("RUNNING", { startedAt: old });
      await queue.add("run", { jobId: failed.id }, { jobId: failed.id, attempts: 1 });
      const token = randomUUID();
      const taken = await worker.getNextJob(token);
      expect(taken?.id).toBe(failed.id);
      await taken!.moveToFailed(new Error("job stalled more than allowable limit"), token);
      expect(await queue.getJobState(failed.id)).toBe("failed");

      const lost = await row("QUEUED");
      const lostRunning = await row("RUNNING", { startedAt: old });
      const waiting = await row("QUEUED");
      await queue.add("run", { jobId: waiting.id }, { jobId: waiting.id });
      const fresh = await row("QUEUED", { createdAt: new Date() });
      const recentlyStarted = await row("RUNNING", { startedAt: new Date() });
      const finished = await row("SUCCEEDED");

      expect(await sweep.sweep()).toBe(3);
      const states = async () => Object.fromEntries(await Promise.all(Object.entries({ failed, lost, lostRunning, waiting, fresh, recentlyStarted, finished }).map(async ([name, r]) => [name, await queue.getJobState(r.id)])));
      expect(await states()).toEqual({ failed: "waiting", lost: "waiting", lostRunning: "waiting", waiting: "waiting", fresh: "unknown", recentlyStarted: "unknown", finished: "unknown" });
      expect((await queue.getJob(failed.id))!.attemptsMade).toBe(0);
      // Everything it queued is still queued: a second sweep adds nothing.
      expect(await sweep.sweep()).toBe(0);
      expect(await queue.getWaitingCount()).toBe(4);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      await db.$disconnect();
      await database.drop();
    }
  });
});
