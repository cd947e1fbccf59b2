import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { campaignTestConfig } from "../testkit/config";
import { privateDatabase } from "../testkit/databases";
import { asUser } from "../testkit/gateway-identity";
import { captureLogs } from "../testkit/logs";
import { dataAs, eventually, startWorkerProcess, type WorkerProcess } from "../testkit/simulation";

/**
 * The worker pool as real processes (subgraphs/simulation/src/worker.ts) sharing one queue:
 * the same seed, members and commands give the same state hash with 1 worker, with 3
 * workers, and when a worker is killed (SIGKILL) in the middle of a tick. Each run has its
 * own queue prefix; the suite has its own databases, so no other suite's campaigns appear.
 */

jest.setTimeout(180_000);

const TICKS = 8;
/** The shared Redis: the workers read this file's own lifecycle topic (testkit/config.ts), and each run its own queue. */
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
let campaignDb: Awaited<ReturnType<typeof privateDatabase>>;
let simulationDb: Awaited<ReturnType<typeof privateDatabase>>;
let campaignApp: ReturnType<typeof createCampaignApp>;
let origin: string;
let db: pg.Client;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  const suffix = `w${randomUUID().slice(0, 6)}`;
  [campaignDb, simulationDb] = await Promise.all([privateDatabase("campaign", suffix), privateDatabase("simulation", suffix)]);
  campaignApp = createCampaignApp(campaignTestConfig({ DATABASE_URL: campaignDb.url, REDIS_URL }), captureLogs("campaign", "warn").logger);
  origin = await campaignApp.listen();
  db = new pg.Client({ connectionString: simulationDb.url });
  await db.connect();
}, 60_000);
afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill("SIGKILL")));
  await db?.end();
  await campaignApp?.stop();
  await campaignDb?.drop();
  await simulationDb?.drop();
});

const gm = asUser(randomUUID(), ["GAME_MASTER"]);
const players = [asUser(randomUUID()), asUser(randomUUID()), asUser(randomUUID())];
const SEED = `determinism-${randomUUID().slice(0, 8)}`;

/** The same campaign every time: same seed, same members, same commands queued before the start. */
async function sameCampaign(): Promise<string> {
  const campaignUrl = `${origin}/graphql`;
  const created = await dataAs<{ createCampaign: { id: string } }>(campaignUrl, gm, "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", {
    input: { name: "Determinism", tickRateMs: 150, seed: SEED },
  });
  const id = created.createCampaign.id;
  for (const p of players) await dataAs(campaignUrl, p, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id });
  // Queued straight into the simulation's table, in a fixed order: what submitCommand writes.
  const orders: [Viewer, string, unknown][] = [
    [players[0]!, "SET_TAX", { rate: 40 }],
    [players[1]!, "SET_POLICY", { policy: "industry" }],
    [players[2]!, "TRADE_ORDER", { good: "food", side: "sell", quantity: 50 }],
    [gm, "SET_POLICY", { policy: "research" }],
  ];
  for (const [viewer, type, payload] of orders) {
    await db.query("INSERT INTO commands (id, campaign_id, user_id, type, payload, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6)", [
      randomUUID(),
      id,
      viewer.kind === "user" ? viewer.userId : "",
      type,
      JSON.stringify(payload),
      randomUUID(),
    ]);
  }
  return id;
}

const lifecycle = (action: string, id: string) => dataAs(`${origin}/graphql`, gm, `mutation($id: ID!) { ${action}(id: $id) { id } }`, { id });
const hashAt = async (campaignId: string, tick: number) =>
  (await db.query<{ hash: string }>("SELECT hash FROM tick_log WHERE campaign_id = $1 AND tick = $2", [campaignId, tick])).rows[0]?.hash;
const untilTick = (campaignId: string, tick: number) =>
  eventually(`tick ${tick}`, async () => ((await hashAt(campaignId, tick)) ? true : undefined), 60_000, 100);

/** Runs a campaign to TICKS with `count` fresh worker processes on their own queue, then ends it and stops them. */
async function runWith(count: number, during?: (campaignId: string, prefix: string) => Promise<void>): Promise<{ campaignId: string; hash: string }> {
  const prefix = `test-workers-${randomUUID()}`;
  const campaignId = await sameCampaign();
  const pool = await Promise.all(Array.from({ length: count }, () => startWorkerProcess(origin, { QUEUE_PREFIX: prefix, DATABASE_URL: simulationDb.url, REDIS_URL })));
  workers.push(...pool);
  await lifecycle("startCampaign", campaignId);
  await during?.(campaignId, prefix);
  await untilTick(campaignId, TICKS);
  await lifecycle("endCampaign", campaignId);
  await Promise.all(pool.map((w) => w.kill("SIGTERM")));
  return { campaignId, hash: (await hashAt(campaignId, TICKS))! };
}

describe("simulation worker processes", () => {
  let baseline: { campaignId: string; hash: string };

  it("one worker: the baseline run, every tick saved once, every queued command decided at tick 1", async () => {
    baseline = await runWith(1);
    const ticks = await db.query("SELECT tick FROM tick_log WHERE campaign_id = $1 AND tick <= $2 ORDER BY tick", [baseline.campaignId, TICKS]);
    expect(ticks.rows.map((r) => r.tick)).toEqual(Array.from({ length: TICKS }, (_, i) => i + 1));
    const applied = await db.query("SELECT status, tick FROM commands WHERE campaign_id = $1", [baseline.campaignId]);
    expect(applied.rows.every((r) => r.tick === 1 && r.status !== "PENDING")).toBe(true);
  });

  it("three workers give the same state hash as one", async () => {
    const three = await runWith(3);
    expect(three.hash).toBe(baseline.hash);
  });

  it("a worker killed (SIGKILL) mid-tick changes nothing: the final hash equals the undisturbed run's", async () => {
    let killedTick = 0;
    const killed = await runWith(0, async (campaignId, prefix) => {
      // A worker that holds every tick's transaction open after saving, before committing.
      const victim = await startWorkerProcess(origin, { QUEUE_PREFIX: prefix, DATABASE_URL: simulationDb.url, REDIS_URL, TICK_HOLD_MS: "5000" });
      workers.push(victim);
      // Process start (tsx) and the world, then the first tick it holds: generous under a loaded CI machine.
      const holding = await victim.waitForLog(
        (e) => e.msg === "tick saved; holding the transaction (TICK_HOLD_MS)" && e.campaignId === campaignId && Number(e.tick) >= 1,
        60_000,
      );
      killedTick = Number(holding.tick);
      await victim.kill("SIGKILL");
      // Its transaction rolled back: the tick it was in the middle of is not saved.
      expect(await hashAt(campaignId, killedTick)).toBeUndefined();
      const survivors = await Promise.all([1, 2].map(() => startWorkerProcess(origin, { QUEUE_PREFIX: prefix, DATABASE_URL: simulationDb.url, REDIS_URL })));
      workers.push(...survivors);
      await untilTick(campaignId, TICKS);
      await Promise.all(survivors.map((w) => w.kill("SIGTERM")));
    });
    expect(killedTick).toBeGreaterThanOrEqual(1);
    expect(killed.hash).toBe(baseline.hash);
    const ticks = await db.query("SELECT tick FROM tick_log WHERE campaign_id = $1 AND tick <= $2 ORDER BY tick", [killed.campaignId, TICKS]);
    expect(ticks.rows.map((r) => r.tick)).toEqual(Array.from({ length: TICKS }, (_, i) => i + 1));
  });
});
