import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createSimulationWorker } from "../../subgraphs/simulation/src/worker-app";
import { campaignTestConfig, simulationWorkerTestConfig } from "../testkit/config";
import { privateDatabase } from "../testkit/databases";
import { asUser } from "../testkit/gateway-identity";
import { captureLogs } from "../testkit/logs";
import { metricValue } from "../testkit/metrics";
import { dataAs, eventually } from "../testkit/simulation";

/**
 * The tick series of the simulation worker pool (in this process) against the real campaign
 * subgraph, PostgreSQL, Redis and BullMQ: a campaign that ticks moves the duration and lag
 * histograms, its commands are counted by outcome and rejection reason, and a RUNNING world
 * whose ticks stopped shows in the worst lag and the campaigns behind schedule. Its own
 * databases and Redis database: no other suite's world ticks here or counts in the gauges.
 */

jest.setTimeout(120_000);

const REDIS_URL = `${process.env.REDIS_URL ?? "redis://127.0.0.1:6379"}/6`;
const QUEUE_PREFIX = `test-sim-metrics-${randomUUID()}`;
let campaignDb: Awaited<ReturnType<typeof privateDatabase>>;
let simulationDb: Awaited<ReturnType<typeof privateDatabase>>;
let campaignApp: ReturnType<typeof createCampaignApp>;
let worker: ReturnType<typeof createSimulationWorker>;
let campaignUrl: string;
let db: pg.Client;

beforeAll(async () => {
  const suffix = `m${randomUUID().slice(0, 6)}`;
  [campaignDb, simulationDb] = await Promise.all([privateDatabase("campaign", suffix), privateDatabase("simulation", suffix)]);
  campaignApp = createCampaignApp(campaignTestConfig({ DATABASE_URL: campaignDb.url, REDIS_URL }), captureLogs("campaign", "warn").logger);
  const origin = await campaignApp.listen();
  campaignUrl = `${origin}/graphql`;
  worker = createSimulationWorker(simulationWorkerTestConfig(origin, { QUEUE_PREFIX, DATABASE_URL: simulationDb.url, REDIS_URL }), captureLogs("simulation-worker", "warn").logger);
  await worker.listen();
  db = new pg.Client({ connectionString: simulationDb.url });
  await db.connect();
}, 60_000);
afterAll(async () => {
  await worker?.stop();
  await db?.end();
  await campaignApp?.stop();
  await campaignDb?.drop();
  await simulationDb?.drop();
});

const idOf = (viewer: Viewer) => (viewer.kind === "user" ? viewer.userId : "");
const lifecycle = (gm: Viewer, action: string, id: string) => dataAs(campaignUrl, gm, `mutation($id: ID!) { ${action}(id: $id) { id } }`, { id });
const worldRow = async (campaignId: string) => (await db.query<{ tick: number; status: string }>("SELECT tick, status FROM worlds WHERE campaign_id = $1", [campaignId])).rows[0];

async function series() {
  const text = await worker.metrics.registry.metrics();
  return {
    applied: metricValue(text, "simulation_commands_total", { outcome: "applied", reason: "none" }),
    notFound: metricValue(text, "simulation_commands_total", { outcome: "rejected", reason: "NOT_FOUND" }),
    unknownCivilization: metricValue(text, "simulation_commands_total", { outcome: "rejected", reason: "UNKNOWN_CIVILIZATION" }),
    durations: metricValue(text, "simulation_tick_duration_seconds_count"),
    lags: metricValue(text, "simulation_tick_lag_seconds_count"),
    running: metricValue(text, "simulation_campaigns_running"),
    behind: metricValue(text, "simulation_campaigns_behind_schedule"),
    maxLag: metricValue(text, "simulation_tick_lag_max_seconds"),
  };
}

describe("simulation tick metrics", () => {
  const gm = asUser(randomUUID(), ["GAME_MASTER"]);
  const alice = asUser(randomUUID());
  const bob = asUser(randomUUID());
  let campaignId: string;

  it("exports every series before any tick: the commands of each reason at 0, no campaign running", async () => {
    expect(await series()).toEqual({ applied: 0, notFound: 0, unknownCivilization: 0, durations: 0, lags: 0, running: 0, behind: 0, maxLag: 0 });
  });

  it("times each tick, its lag behind schedule, and counts its commands by outcome and reason", async () => {
    const created = await dataAs<{ createCampaign: { id: string } }>(campaignUrl, gm, "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", {
      input: { name: `Metrics ${randomUUID().slice(0, 6)}`, tickRateMs: 200 },
    });
    campaignId = created.createCampaign.id;
    for (const p of [alice, bob]) await dataAs(campaignUrl, p, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
    // Queued straight into the table, as submitCommand writes them: one applies, one is rejected.
    const queue = async (viewer: Viewer, type: string, payload: unknown) =>
      db.query("INSERT INTO commands (id, campaign_id, user_id, type, payload, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6)", [randomUUID(), campaignId, idOf(viewer), type, JSON.stringify(payload), randomUUID()]);
    await queue(alice, "SET_TAX", { rate: 35 });
    await queue(bob, "RESEARCH", { techId: "no-such-tech" });
    await lifecycle(gm, "startCampaign", campaignId);
    await eventually("tick 2", async () => (((await worldRow(campaignId))?.tick ?? 0) >= 2 ? true : undefined), 30_000);

    const after = await series();
    expect(after).toMatchObject({ applied: 1, notFound: 1, unknownCivilization: 0 });
    // At least ticks 1 and 2, each its schedule's first attempt.
    expect(after.durations).toBeGreaterThanOrEqual(2);
    expect(after.lags).toBeGreaterThanOrEqual(2);
    await eventually("the running campaign counted", async () => ((await series()).running === 1 ? true : undefined), 15_000);
  });

  it("shows a RUNNING world whose ticks stopped as the worst lag and as behind schedule", async () => {
    await lifecycle(gm, "pauseCampaign", campaignId);
    await eventually("the world paused", async () => ((await worldRow(campaignId))?.status === "PAUSED" ? true : undefined), 15_000);
    await eventually("no campaign running", async () => {
      const now = await series();
      return now.running === 0 && now.behind === 0 && now.maxLag === 0 ? true : undefined;
    }, 15_000);

    // RUNNING without a schedule, its last tick an hour ago: what a lost schedule or a stuck
    // pool looks like. Under the campaign's lifecycle lock, so the reconciler waits meanwhile.
    await db.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [`simulation:lifecycle:${campaignId}`]);
    try {
      await db.query("UPDATE worlds SET status = 'RUNNING', updated_at = now() - interval '1 hour' WHERE campaign_id = $1", [campaignId]);
      const stuck = await eventually("the stopped world counted", async () => {
        const now = await series();
        return now.running === 1 ? now : undefined;
      }, 15_000);
      expect(stuck.behind).toBe(1);
      // An hour, less the 200 ms tick interval, give or take the scrape's own time.
      expect(stuck.maxLag).toBeGreaterThan(3_590);
      expect(stuck.maxLag).toBeLessThan(3_700);
    } finally {
      await db.query("UPDATE worlds SET status = 'PAUSED' WHERE campaign_id = $1", [campaignId]);
      await db.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [`simulation:lifecycle:${campaignId}`]);
    }
  });
});
