import { randomUUID } from "node:crypto";
import pg from "pg";
import { createRedis, streamKey, Topics, type Role, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createSimulationApp } from "../../subgraphs/simulation/src/app";
import { createSimulationWorker } from "../../subgraphs/simulation/src/worker-app";
import { campaignTestConfig, required, simulationTestConfig, simulationWorkerTestConfig } from "../testkit/config";
import { privateDatabase } from "../testkit/databases";
import { asUser } from "../testkit/gateway-identity";
import { errorCodes } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { callAs, dataAs, eventually } from "../testkit/simulation";

/**
 * The simulation subgraph's read models served from its cache (read-cache/), against the real
 * campaign subgraph, worker pool, PostgreSQL and Redis: each viewer gets their own fog of war,
 * a tick or a membership change is seen as soon as its event is published, never later.
 */
let campaignDatabase: Awaited<ReturnType<typeof privateDatabase>>;
let campaignApp: ReturnType<typeof createCampaignApp>;
let simulationApp: ReturnType<typeof createSimulationApp>;
let worker: ReturnType<typeof createSimulationWorker>;
/** What went wrong on the way to a tick, printed when a test times out waiting for one. */
// Room for the first tick's longer wait below.
jest.setTimeout(90_000);
const warnings: ReturnType<typeof captureLogs>[] = [];
const logsOf = (service: string) => {
  const logs = captureLogs(service, "debug");
  warnings.push(logs);
  return logs.logger;
};
const db = new pg.Client({ connectionString: required("SIMULATION_DATABASE_URL") });
const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "read-model-cache-simulation-test");
let campaignUrl: string;
let url: string;

beforeAll(async () => {
  // Its own campaign database, as in simulation.test.ts: no other suite's worker pool ticks these campaigns.
  campaignDatabase = await privateDatabase("campaign", "readcache");
  campaignApp = createCampaignApp(campaignTestConfig({ DATABASE_URL: campaignDatabase.url }), logsOf("campaign"));
  const origin = await campaignApp.listen();
  campaignUrl = `${origin}/graphql`;
  simulationApp = createSimulationApp(simulationTestConfig(origin), logsOf("simulation"));
  url = `${await simulationApp.listen()}/graphql`;
  worker = createSimulationWorker(simulationWorkerTestConfig(origin, { QUEUE_PREFIX: `test-read-cache-${randomUUID()}` }), logsOf("simulation-worker"));
  await worker.listen();
  await db.connect();
});
afterAll(async () => {
  await worker.stop();
  await db.end();
  redis.disconnect();
  await simulationApp.stop();
  await campaignApp.stop();
  await campaignDatabase.drop();
});

const newUser = (roles: Role[] = ["PLAYER"]) => asUser(randomUUID(), roles);

type Map = { galaxyMap: { civilizationId: string; tick: number; fleets: { id: string; ownerId: string; destinationId: string | null }[] } | null };
const MAP = "query($id: ID!) { galaxyMap(campaignId: $id) { civilizationId tick fleets { id ownerId destinationId } } }";
const mapOf = (viewer: Viewer, campaignId: string) => dataAs<Map>(url, viewer, MAP, { id: campaignId });

/** The last event published on a stream, as the relay wrote it. */
async function lastEvent(topic: string): Promise<{ type: string; data: Record<string, unknown> } | null> {
  const [entry] = (await redis.xrevrange(streamKey(topic), "+", "-", "COUNT", 1)) as [string, string[]][];
  return entry ? (JSON.parse(entry[1][1]!) as { type: string; data: Record<string, unknown> }) : null;
}

/** A campaign started with a game master and two players, its world generated. Ticks every `tickRateMs`. */
async function startedCampaign(tickRateMs: number) {
  const gm = newUser(["GAME_MASTER"]);
  const [alice, bob] = [newUser(), newUser()];
  const created = await dataAs<{ createCampaign: { id: string } }>(campaignUrl, gm, "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }", {
    input: { name: `Fog ${randomUUID().slice(0, 6)}`, tickRateMs },
  });
  const campaignId = created.createCampaign.id;
  for (const p of [alice, bob]) await dataAs(campaignUrl, p, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
  await dataAs(campaignUrl, gm, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: campaignId });
  // The first tick follows the start at once; the next one only after `tickRateMs`. On a busy
  // CI machine the start's way there (outbox, stream, lifecycle job, world generation, tick)
  // has taken over 15 s once: the wait is longer, and a timeout says what the services warned of.
  await eventually("the first tick", async () => (((await mapOf(alice, campaignId)).galaxyMap?.tick ?? -1) >= 1 ? true : undefined), 45_000).catch((error: Error) => {
    throw new Error(`${error.message}; what the services logged of it, and their warnings:\n${warnings.map((logs) => logs.raw().split("\n").filter((l) => l.includes(campaignId) || /"level":"(warn|error)"/.test(l)).join("\n")).join("\n") || "(none)"}`);
  });
  return { gm, alice, bob, campaignId };
}

const end = (gm: Viewer, campaignId: string) => dataAs(campaignUrl, gm, "mutation($id: ID!) { endCampaign(id: $id) { id } }", { id: campaignId });

it("gives each viewer the galaxy map of their own civilization, however often it is served from the cache", async () => {
  const { gm, alice, bob, campaignId } = await startedCampaign(60_000);
  const outsider = newUser();
  // Asked in turn and at once, so that cached answers and single-flight computations are both in play.
  const rounds = await Promise.all(Array.from({ length: 4 }, () => Promise.all([mapOf(alice, campaignId), mapOf(bob, campaignId), mapOf(alice, campaignId)])));
  const civs = async (viewer: Viewer) =>
    (await db.query<{ civ_id: string; map: Map["galaxyMap"] }>(
      "SELECT c.civ_id, g.map FROM civilization_views c JOIN galaxy_map_views g USING (campaign_id, civ_id) WHERE c.campaign_id = $1 AND c.player_id = $2",
      [campaignId, viewer.kind === "user" ? viewer.userId : null],
    )).rows[0]!;
  const [alicesRow, bobsRow] = [await civs(alice), await civs(bob)];
  expect(alicesRow.civ_id).not.toBe(bobsRow.civ_id);
  for (const [aliceMap, bobMap, aliceAgain] of rounds) {
    expect(aliceMap.galaxyMap!.civilizationId).toBe(alicesRow.civ_id);
    expect(aliceAgain).toEqual(aliceMap);
    expect(bobMap.galaxyMap!.civilizationId).toBe(bobsRow.civ_id);
    // Fog of war: a fleet's destination is shown to its owner only, so the two views differ.
    expect(aliceMap.galaxyMap!.fleets.filter((f) => f.destinationId !== null || f.ownerId === alicesRow.civ_id).every((f) => f.ownerId === alicesRow.civ_id)).toBe(true);
    expect(bobMap.galaxyMap!.fleets.filter((f) => f.destinationId !== null).every((f) => f.ownerId === bobsRow.civ_id)).toBe(true);
  }
  expect(rounds[0]![0].galaxyMap!.fleets).toEqual(alicesRow.map!.fleets.map((f) => ({ id: f.id, ownerId: f.ownerId, destinationId: f.destinationId ?? null })));
  // Not a member: refused, not someone else's map from the cache.
  expect(errorCodes(await callAs(url, outsider, MAP, { id: campaignId }))).toEqual(["FORBIDDEN"]);
  // A member without a civilization (the game master leads one too, so an admin reads): no map at all.
  expect((await mapOf(newUser(["ADMIN"]), campaignId)).galaxyMap).toBeNull();
  await end(gm, campaignId);
});

it("serves a tick's read models from the moment its TICK_COMPLETED is published, never an older tick's", async () => {
  const { gm, alice, campaignId } = await startedCampaign(300);
  const READS = `query($id: ID!, $reps: [_Any!]!) {
    galaxyMap(campaignId: $id) { tick }
    _entities(representations: $reps) { ... on Campaign { world { tick civilizations { tick } } } }
  }`;
  type Reads = { galaxyMap: { tick: number }; _entities: { world: { tick: number; civilizations: { tick: number }[] } }[] };
  for (let seen = 0; seen < 3; ) {
    const event = await eventually("a newer tick", async () => {
      const last = await lastEvent(Topics.world(campaignId));
      return last?.type === "TICK_COMPLETED" && (last.data.tick as number) > seen ? last : undefined;
    });
    const tick = event.data.tick as number;
    const read = await dataAs<Reads>(url, alice, READS, { id: campaignId, reps: [{ __typename: "Campaign", id: campaignId }] });
    expect(read.galaxyMap.tick).toBeGreaterThanOrEqual(tick);
    const world = read._entities[0]!.world;
    expect(world.tick).toBeGreaterThanOrEqual(tick);
    expect(Math.min(...world.civilizations.map((c) => c.tick))).toBeGreaterThanOrEqual(tick);
    seen = tick;
  }
  await end(gm, campaignId);
});

it("stops serving a player who left as soon as campaign publishes it, however recently they read", async () => {
  const { gm, alice, bob, campaignId } = await startedCampaign(60_000);
  expect((await mapOf(bob, campaignId)).galaxyMap).not.toBeNull();
  await dataAs(campaignUrl, bob, "mutation($id: ID!) { leaveCampaign(campaignId: $id) }", { id: campaignId });
  await eventually("PLAYER_LEFT published", async () => ((await lastEvent(Topics.campaign(campaignId)))?.type === "PLAYER_LEFT" ? true : undefined));
  expect(errorCodes(await callAs(url, bob, MAP, { id: campaignId }))).toEqual(["FORBIDDEN"]);
  expect((await mapOf(alice, campaignId)).galaxyMap).not.toBeNull();
  await end(gm, campaignId);
});
