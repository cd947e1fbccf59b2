import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import pg from "pg";
import { createRedis, parseConfig, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { providerConfigSchema } from "../../subgraphs/provider/src/config";
import { createProviderApp } from "../../subgraphs/provider/src/app";
import { createSimulationApp } from "../../subgraphs/simulation/src/app";
import { TICK_QUEUE, tickSchedulerId } from "../../subgraphs/simulation/src/scheduling/queues";
import { startBuiltProcess, type BuiltProcess } from "../testkit/built-process";
import { campaignTestConfig, providerTestEnv, simulationTestConfig } from "../testkit/config";
import { privateDatabase } from "../testkit/databases";
import { startFakeOpenAi, type FakeOpenAi } from "../testkit/fake-openai";
import { asUser } from "../testkit/gateway-identity";
import { captureLogs } from "../testkit/logs";
import { startPrivateRedis, type PrivateRedis } from "../testkit/private-redis";
import { dataAs, eventually, startWorkerProcess, type WorkerProcess } from "../testkit/simulation";

/**
 * Redis loses everything (kill -9 of a server that persists nothing, then a fresh one on the
 * same port) under a running game: the simulation and provider worker pools must heal from
 * PostgreSQL alone, with nobody pausing, resuming or retrying anything. Everything here runs
 * against a private redis-server and private databases: the shared Redis on 6379 is never
 * touched (other suites use it at the same time), and no other suite's worlds or jobs are in
 * reach of these pools' reconciliation.
 */

jest.setTimeout(240_000);

const TICK_MS = 200;
const QUEUE_PREFIX = `test-chaos-${randomUUID()}`;
const gm = asUser(randomUUID(), ["GAME_MASTER"]);
const player = asUser(randomUUID());
const idOf = (viewer: Viewer) => (viewer.kind === "user" ? viewer.userId : "");

let redis: PrivateRedis;
let databases: Awaited<ReturnType<typeof privateDatabase>>[] = [];
let simulationDb: pg.Client;
let providerDb: pg.Client;
let campaignApp: ReturnType<typeof createCampaignApp>;
let simulationApp: ReturnType<typeof createSimulationApp>;
let providerApp: ReturnType<typeof createProviderApp>;
let setupGate: Awaited<ReturnType<typeof startSetupGate>>;
let vendor: FakeOpenAi;
let campaignUrl: string;
let simulationUrl: string;
let providerUrl: string;
const processes: (WorkerProcess | BuiltProcess)[] = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  const suffix = `chaos${randomUUID().slice(0, 6)}`;
  databases = await Promise.all(["campaign", "simulation", "provider"].map((service) => privateDatabase(service, suffix)));
  const [campaignDbUrl, simulationDbUrl, providerDbUrl] = databases.map((d) => d.url) as [string, string, string];
  const REDIS_URL = redis.url;

  campaignApp = createCampaignApp(campaignTestConfig({ DATABASE_URL: campaignDbUrl, REDIS_URL }), captureLogs("campaign", "warn").logger);
  const campaignOrigin = await campaignApp.listen();
  campaignUrl = `${campaignOrigin}/graphql`;
  simulationApp = createSimulationApp(simulationTestConfig(campaignOrigin, { DATABASE_URL: simulationDbUrl, REDIS_URL }), captureLogs("simulation", "warn").logger);
  simulationUrl = `${await simulationApp.listen()}/graphql`;
  // The worker pool reads world setups through this gate, which can refuse one campaign's.
  setupGate = await startSetupGate(campaignOrigin);
  processes.push(
    await startWorkerProcess(setupGate.origin, {
      QUEUE_PREFIX,
      DATABASE_URL: simulationDbUrl,
      REDIS_URL,
      RECONCILE_INTERVAL_MS: "1000",
    }),
  );

  vendor = await startFakeOpenAi({ reply: "The relay station answers after a long silence." });
  const providerEnv = providerTestEnv("http://127.0.0.1:9", {
    DATABASE_URL: providerDbUrl,
    REDIS_URL,
    // One vendor and no offline engine, so each job's usage is exactly one vendor call's.
    PROVIDER_DEPLOYMENTS: JSON.stringify([
      { name: "chaos-vendor", kind: "TEXT", driver: "OPENAI", modelGroup: "text", model: "chaos-model", baseUrl: vendor.baseUrl, timeoutMs: 120_000, inputCostMicrosPer1k: 150, outputCostMicrosPer1k: 600 },
    ]),
    PROVIDER_OFFLINE: "false",
    // One job at a time: a second job waits in Redis while the first is at the vendor.
    PROVIDER_WORKER_CONCURRENCY: "1",
    PROVIDER_SWEEP_MS: "1000",
    PROVIDER_STALE_MS: "1000",
  });
  providerApp = createProviderApp(parseConfig(providerConfigSchema, providerEnv), captureLogs("provider", "warn").logger);
  providerUrl = `${await providerApp.listen()}/graphql`;
  const providerWorker = startBuiltProcess("subgraphs/provider/dist/worker.js", { ...providerEnv, LOG_LEVEL: "info" });
  processes.push(providerWorker);
  await providerWorker.waitForLog((entry) => entry.msg === "provider worker pool started", 30_000);

  simulationDb = new pg.Client({ connectionString: simulationDbUrl });
  providerDb = new pg.Client({ connectionString: providerDbUrl });
  await Promise.all([simulationDb.connect(), providerDb.connect()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill("SIGKILL")));
  await simulationDb?.end();
  await providerDb?.end();
  await providerApp?.stop();
  await simulationApp?.stop();
  await campaignApp?.stop();
  await setupGate?.stop();
  await vendor?.stop();
  await redis?.stop();
  await Promise.all(databases.map((d) => d.drop()));
});

async function startedCampaign(name: string, beforeStart?: (campaignId: string) => void): Promise<string> {
  const created = await dataAs<{ createCampaign: { id: string } }>(campaignUrl, gm, "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", {
    input: { name, tickRateMs: TICK_MS, seed: `chaos-${randomUUID().slice(0, 8)}` },
  });
  const id = created.createCampaign.id;
  await dataAs(campaignUrl, player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id });
  beforeStart?.(id);
  await dataAs(campaignUrl, gm, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id });
  return id;
}

const worldTick = async (campaignId: string) =>
  (await simulationDb.query<{ tick: number }>("SELECT tick FROM worlds WHERE campaign_id = $1", [campaignId])).rows[0]?.tick;
const untilTick = (campaignId: string, tick: number, what: string) =>
  eventually(what, async () => (((await worldTick(campaignId)) ?? -1) >= tick ? true : undefined), 60_000, 50);

const SUBMIT = "mutation($input: SubmitCommandInput!) { submitCommand(input: $input) { id status } }";
const submit = async (campaignId: string, type: string, payload: unknown) =>
  (await dataAs<{ submitCommand: { id: string; status: string } }>(simulationUrl, player, SUBMIT, { input: { campaignId, type, payload, idempotencyKey: randomUUID() } })).submitCommand;

const TEXT = "mutation($input: GenerateTextInput!) { generateText(input: $input) { id status } }";
const generate = async (prompt: string) =>
  (await dataAs<{ generateText: { id: string; status: string } }>(providerUrl, asUser(idOf(player)), TEXT, { input: { idempotencyKey: randomUUID(), prompt } })).generateText;
type JobRow = { status: string; prompt_tokens: number; completion_tokens: number; cost_micros: number; billed_at: Date | null };
const jobRow = async (id: string) =>
  (await providerDb.query<JobRow>("SELECT status, prompt_tokens, completion_tokens, cost_micros, billed_at FROM provider_jobs WHERE id = $1", [id])).rows[0]!;
const vendorCallsFor = (prompt: string) => vendor.calls("/v1/chat/completions").filter((r) => JSON.stringify(r.body).includes(prompt)).length;

describe("Redis loses all its data under a running game", () => {
  it("ticks resume without a pause/resume, accepted commands are applied once, an ungenerated world is generated, accepted AI jobs complete and are billed once", async () => {
    // A campaign RUNNING and ticking.
    const running = await startedCampaign("Chaos Running");
    await untilTick(running, 3, "the running campaign's first ticks");

    // A campaign whose start the pool has seen but whose world it could not generate yet:
    // campaign refuses its world setup for now, so its lifecycle job sits in Redis, retrying.
    const ungenerated = await startedCampaign("Chaos Ungenerated", (id) => setupGate.refuse(id));
    await eventually("the pool trying to generate the second world", async () => (setupGate.refusals(ungenerated) >= 1 ? true : undefined), 30_000);

    // Commands accepted (PENDING) just before the loss.
    const commands = [await submit(running, "SET_TAX", { rate: 35 }), await submit(running, "SET_POLICY", { policy: "industry" })];
    expect(commands.map((c) => c.status)).toEqual(["PENDING", "PENDING"]);

    // AI jobs accepted just before the loss: the first held at the vendor (the pool's only
    // slot), the second waiting in the queue behind it.
    let openVendor!: () => void;
    vendor.queue({ kind: "gate", until: new Promise<void>((resolve) => (openVendor = resolve)) });
    const firstPrompt = `Hail the relay ${randomUUID()}`;
    const secondPrompt = `Hail the outpost ${randomUUID()}`;
    const firstJob = await generate(firstPrompt);
    await eventually("the first AI job at the vendor", async () => (vendorCallsFor(firstPrompt) === 1 ? true : undefined), 30_000);
    const secondJob = await generate(secondPrompt);
    expect((await jobRow(secondJob.id)).status).toBe("QUEUED");

    // kill -9, and a fresh Redis on the same port: every queue, schedule and stream is gone.
    await redis.kill();
    const tickAtLoss = (await worldTick(running))!;
    // Commands are still accepted while Redis is down (they live in PostgreSQL).
    commands.push(await submit(running, "SET_TAX", { rate: 20 }));
    await redis.start();
    commands.push(await submit(running, "SET_POLICY", { policy: "research" }));
    setupGate.allow(ungenerated);
    openVendor();

    // Ticks resume, by themselves.
    await untilTick(running, tickAtLoss + 5, `ticks after the loss (tick at the loss: ${tickAtLoss})`);

    // Each accepted command decided at exactly one tick, and found in that tick's log only.
    await eventually("every accepted command decided", async () => {
      const { rows } = await simulationDb.query<{ status: string }>("SELECT status FROM commands WHERE id = ANY($1::uuid[])", [commands.map((c) => c.id)]);
      return rows.length === commands.length && rows.every((r) => r.status !== "PENDING") ? true : undefined;
    });
    for (const command of commands) {
      const { rows: decided } = await simulationDb.query<{ status: string; tick: number }>("SELECT status, tick FROM commands WHERE id = $1", [command.id]);
      const { rows: logged } = await simulationDb.query<{ tick: number }>(
        "SELECT tick FROM tick_log, jsonb_array_elements(commands) AS c WHERE campaign_id = $1 AND c->>'id' = $2",
        [running, command.id],
      );
      expect({ command: command.id, ...decided[0], logged: logged.map((r) => r.tick) }).toEqual({ command: command.id, status: "APPLIED", tick: decided[0]!.tick, logged: [decided[0]!.tick] });
    }

    // No tick applied twice or skipped: the log is 1..N, N is the world's tick, and replaying
    // the log gives the saved state.
    const { rows: log } = await simulationDb.query<{ ticks: number[]; world: number }>(
      "SELECT array_agg(l.tick ORDER BY l.tick) AS ticks, w.tick AS world FROM worlds w JOIN tick_log l ON l.campaign_id = w.campaign_id WHERE w.campaign_id = $1 GROUP BY w.tick",
      [running],
    );
    // One statement, one snapshot: the world and its log as of the same moment.
    const ticks = log[0]!.ticks;
    expect(ticks).toEqual(Array.from({ length: ticks.length }, (_, i) => i + 1));
    expect(log[0]!.world).toBe(ticks.length);
    const integrity = await dataAs<{ worldIntegrity: { matches: boolean; tick: number } }>(simulationUrl, gm, "query($id: ID!) { worldIntegrity(campaignId: $id) { matches tick } }", { id: running });
    expect(integrity.worldIntegrity.matches).toBe(true);
    expect(integrity.worldIntegrity.tick).toBeGreaterThan(tickAtLoss);

    // The campaign whose world was never generated gets it, and ticks.
    await untilTick(ungenerated, 2, "the second campaign's world, generated and ticking after the loss");

    // One tick scheduler per RUNNING world, none twice, though the pool repaired every second.
    const connection = createRedis(redis.url, "chaos-test");
    const ticksQueue = new Queue(TICK_QUEUE, { connection, prefix: QUEUE_PREFIX });
    try {
      const keys = (await ticksQueue.getJobSchedulers(0, -1)).map((s) => s.key).sort();
      expect(keys).toEqual([tickSchedulerId(running), tickSchedulerId(ungenerated)].sort());
    } finally {
      await ticksQueue.close();
      connection.disconnect();
    }

    // Both AI jobs complete, each billed once (one vendor call's usage: 21 + 9 tokens, 9 micros).
    for (const job of [firstJob, secondJob]) {
      const row = await eventually(`AI job ${job.id} finished`, async () => {
        const found = await jobRow(job.id);
        return found.status === "SUCCEEDED" || found.status === "FAILED" ? found : undefined;
      }, 60_000, 100);
      expect({ job: job.id, status: row.status, promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens, costMicros: row.cost_micros, billed: row.billed_at !== null }).toEqual({
        job: job.id,
        status: "SUCCEEDED",
        promptTokens: 21,
        completionTokens: 9,
        costMicros: 9,
        billed: true,
      });
    }
    // The job that waited in the lost queue went to the vendor once: it was queued again, not twice.
    expect(vendorCallsFor(secondPrompt)).toBe(1);
  });
});

/**
 * A pass-through to campaign's origin that answers 503 to the world-setup request of the
 * campaigns it is told to refuse (as campaign would while it is unreachable).
 */
async function startSetupGate(target: string) {
  const refused = new Set<string>();
  const refusals = new Map<string, number>();
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    let campaignId: string | undefined;
    try {
      campaignId = (JSON.parse(body.toString("utf8")) as { campaignId?: string }).campaignId;
    } catch {
      campaignId = undefined;
    }
    if (campaignId && refused.has(campaignId)) {
      refusals.set(campaignId, (refusals.get(campaignId) ?? 0) + 1);
      res.writeHead(503, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ error: "SERVICE_UNAVAILABLE" }));
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !["host", "connection", "content-length"].includes(name))) as Record<string, string>;
    const upstream = await fetch(new URL(req.url ?? "/", target), { method: req.method, headers, body: body.length > 0 ? body : undefined });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refuse: (campaignId: string) => void refused.add(campaignId),
    allow: (campaignId: string) => void refused.delete(campaignId),
    refusals: (campaignId: string) => refusals.get(campaignId) ?? 0,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
