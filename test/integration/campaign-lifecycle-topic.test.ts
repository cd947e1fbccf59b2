import { randomUUID } from "node:crypto";
import pg from "pg";
import { createRedis, streamKey } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createSimulationWorker, type SimulationWorkerApp } from "../../subgraphs/simulation/src/worker-app";
import { campaignTestConfig, required, simulationWorkerTestConfig, testLifecycleTopic } from "../testkit/config";
import { stackDatabase } from "../testkit/databases";
import { asUser } from "../testkit/gateway-identity";
import { captureLogs } from "../testkit/logs";
import { metricValue } from "../testkit/metrics";
import { dataAs, eventually } from "../testkit/simulation";

/**
 * Campaign tells simulation of lifecycle and membership changes on one integration topic
 * (LIFECYCLE_TOPIC), which simulation's worker pool reads as consumer group `simulation`: the
 * pool's work follows the changes, never the number of campaigns or their history, and a pool
 * reads only its own cluster's topic. (It used to scan every `events:campaign:*` stream of the
 * Redis it shared, every few seconds, and a new pool read them all from the start.)
 */

jest.setTimeout(60_000);

const TOPIC = testLifecycleTopic(`lifecycle-${randomUUID()}`);
const OTHER_TOPIC = testLifecycleTopic(`lifecycle-other-${randomUUID()}`);
const gm = asUser(randomUUID(), ["GAME_MASTER"]);
const player = asUser(randomUUID());

let simulationDb: Awaited<ReturnType<typeof stackDatabase>>;
let campaignDb: pg.Client;
let worldsDb: pg.Client;
let campaignApp: ReturnType<typeof createCampaignApp>;
let otherClusterApp: ReturnType<typeof createCampaignApp>;
let origin: string;
let otherOrigin: string;
const workers: SimulationWorkerApp[] = [];
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "lifecycle-topic-test");

beforeAll(async () => {
  simulationDb = await stackDatabase("simulation");
  campaignApp = createCampaignApp(campaignTestConfig({ LIFECYCLE_TOPIC: TOPIC }), captureLogs("campaign", "warn").logger);
  otherClusterApp = createCampaignApp(campaignTestConfig({ LIFECYCLE_TOPIC: OTHER_TOPIC }), captureLogs("campaign", "warn").logger);
  [origin, otherOrigin] = await Promise.all([campaignApp.listen(), otherClusterApp.listen()]);
  campaignDb = new pg.Client({ connectionString: required("CAMPAIGN_DATABASE_URL") });
  worldsDb = new pg.Client({ connectionString: simulationDb.url });
  await Promise.all([campaignDb.connect(), worldsDb.connect()]);
});
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await Promise.all([campaignApp?.stop(), otherClusterApp?.stop()]);
  await Promise.all([campaignDb?.end(), worldsDb?.end()]);
  await simulationDb?.drop();
  await redis.del(streamKey(TOPIC), streamKey(OTHER_TOPIC));
  redis.disconnect();
});

async function startPool(topic: string): Promise<SimulationWorkerApp> {
  const worker = createSimulationWorker(
    simulationWorkerTestConfig(origin, { QUEUE_PREFIX: `test-lifecycle-${randomUUID()}`, LIFECYCLE_TOPIC: topic, DATABASE_URL: simulationDb.url }),
    captureLogs("simulation-worker", "warn").logger,
  );
  await worker.listen();
  workers.push(worker);
  return worker;
}

const gql = (at: string, viewer: ReturnType<typeof asUser>, query: string, variables: Record<string, unknown> = {}) => dataAs<Record<string, { id: string }>>(`${at}/graphql`, viewer, query, variables);

async function playedCampaign(at: string): Promise<string> {
  const { createCampaign } = await gql(at, gm, 'mutation { createCampaign(input: { name: "Lifecycle topic", tickRateMs: 3600000 }) { id } }');
  const id = createCampaign!.id;
  await gql(at, player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id });
  await gql(at, gm, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id });
  return id;
}

const worldOf = async (campaignId: string) => (await worldsDb.query<{ status: string }>("SELECT status FROM worlds WHERE campaign_id = $1", [campaignId])).rows[0];
const eventsQueued = async (worker: SimulationWorkerApp) => metricValue(await worker.metrics.registry.metrics(), "simulation_lifecycle_events_total", { outcome: "queued" }) ?? 0;

describe("campaign lifecycle changes on an integration topic", () => {
  it("are written with each membership and lifecycle change, in its transaction, never with a creation", async () => {
    const id = await playedCampaign(origin);
    await gql(origin, gm, "mutation($id: ID!) { pauseCampaign(id: $id) { id } }", { id });
    await gql(origin, player, "mutation($id: ID!) { leaveCampaign(campaignId: $id) }", { id });
    const rows = await campaignDb.query<{ topic: string; type: string; version: number; data: { change?: string } }>(
      "SELECT topic, type, version, data FROM outbox_events WHERE aggregate_id = $1 AND topic IN ($2, $3) ORDER BY version, topic",
      [id, `campaign:${id}`, TOPIC],
    );
    const timeline = rows.rows.filter((row) => row.topic === `campaign:${id}`);
    const told = rows.rows.filter((row) => row.topic === TOPIC);
    expect(timeline.map((row) => row.type)).toEqual(["CAMPAIGN_CREATED", "PLAYER_JOINED", "CAMPAIGN_STARTED", "CAMPAIGN_PAUSED", "PLAYER_LEFT"]);
    // One per change but the creation, with the same campaign version as its domain event.
    expect(told.map((row) => [row.type, row.data.change, row.version])).toEqual(
      timeline.filter((row) => row.type !== "CAMPAIGN_CREATED").map((row) => ["CAMPAIGN_LIFECYCLE_CHANGED", row.type, row.version]),
    );
  });

  it("reach a pool that was not running when they were published, once, and no pool of another cluster", async () => {
    const missed = await playedCampaign(origin);
    const elsewhere = await playedCampaign(otherOrigin);
    const pool = await startPool(TOPIC);
    await eventually("the missed start's world", async () => ((await worldOf(missed))?.status === "RUNNING" ? true : undefined));
    // Every change on this topic so far (both tests' campaigns), each queued once.
    const changes = (await campaignDb.query("SELECT count(*)::int AS n FROM outbox_events WHERE topic = $1", [TOPIC])).rows[0].n as number;
    await eventually("every change queued", async () => ((await eventsQueued(pool)) === changes ? true : undefined));
    // The other cluster's campaign, started on its own topic, is none of this pool's business.
    expect(await worldOf(elsewhere)).toBeUndefined();

    // A second pool on the same topic (a new replica, a restart) starts where the group is:
    // nothing already acted on is queued again, and the next change reaches one of them.
    const replica = await startPool(TOPIC);
    const next = await playedCampaign(origin);
    await eventually("the next start's world", async () => ((await worldOf(next))?.status === "RUNNING" ? true : undefined));
    await eventually("the next two changes queued", async () => ((await eventsQueued(pool)) + (await eventsQueued(replica)) === changes + 2 ? true : undefined));
    expect((await eventsQueued(pool)) + (await eventsQueued(replica))).toBe(changes + 2);
    // Acknowledged entries do not pile up: the group trims what it has read.
    await eventually("the stream trimmed", async () => ((await redis.xlen(streamKey(TOPIC))) <= 2 ? true : undefined));
  });
});
