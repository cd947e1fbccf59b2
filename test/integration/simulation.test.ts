import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import pg from "pg";
import { Topics, createPgPool, createRedis, parseEvent, prismaSql, type Role, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createDb } from "../../subgraphs/simulation/src/db";
import { createSimulationApp } from "../../subgraphs/simulation/src/app";
import { lockCampaign } from "../../subgraphs/simulation/src/domain/lifecycle";
import { runTick } from "../../subgraphs/simulation/src/domain/tick-runner";
import { insertWorld } from "../../subgraphs/simulation/src/domain/world-store";
import { ConservationError, generateWorld, hashWorld, TICK_STEPS, type TickStep } from "../../subgraphs/simulation/src/engine";
import { TICK_QUEUE, createTickSchedule, tickSchedulerId, type TickJobData } from "../../subgraphs/simulation/src/scheduling/queues";
import { createSimulationWorker } from "../../subgraphs/simulation/src/worker-app";
import { campaignTestConfig, required, simulationTestConfig, simulationWorkerTestConfig } from "../testkit/config";
import { privateDatabase } from "../testkit/databases";
import { asUser } from "../testkit/gateway-identity";
import { errorCodes } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { callAs, dataAs, eventually } from "../testkit/simulation";

/**
 * The simulation subgraph and its worker pool (in this process) against the real campaign
 * subgraph, PostgreSQL, Redis and BullMQ: a campaign that starts gets its world from its seed
 * and members, ticks at its rate while RUNNING, and applies commands once.
 */

// Its own campaign database: every worker pool hears every campaign's lifecycle events, and
// one of a suite running beside this one would find these campaigns in a shared database and
// schedule ticks of its own for them (a tick driven by hand here would then not be the next).
let campaignDatabase: Awaited<ReturnType<typeof privateDatabase>>;
let campaignApp: ReturnType<typeof createCampaignApp>;
let simulationApp: ReturnType<typeof createSimulationApp>;
let worker: ReturnType<typeof createSimulationWorker>;
const db = new pg.Client({ connectionString: required("SIMULATION_DATABASE_URL") });
const prisma = createDb(required("SIMULATION_DATABASE_URL"), 2);
/** What the worker pool runs a tick's transaction on. */
const pool = createPgPool(required("SIMULATION_DATABASE_URL"), 2);
let campaignUrl: string;
let url: string;
const TICK_MS = 200;
const QUEUE_PREFIX = `test-sim-${randomUUID()}`;
const queueConnection = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "simulation-test");
/** The worker's tick queue, as the test sees it in Redis. */
const ticks = new Queue<TickJobData>(TICK_QUEUE, { connection: queueConnection, prefix: QUEUE_PREFIX });

beforeAll(async () => {
  campaignDatabase = await privateDatabase("campaign", "simulation");
  campaignApp = createCampaignApp(campaignTestConfig({ DATABASE_URL: campaignDatabase.url }), captureLogs("campaign", "warn").logger);
  const origin = await campaignApp.listen();
  campaignUrl = `${origin}/graphql`;
  simulationApp = createSimulationApp(simulationTestConfig(origin), captureLogs("simulation", "warn").logger);
  url = `${await simulationApp.listen()}/graphql`;
  worker = createSimulationWorker(simulationWorkerTestConfig(origin, { QUEUE_PREFIX }), captureLogs("simulation-worker", "warn").logger);
  await worker.listen();
  await db.connect();
});
afterAll(async () => {
  await worker.stop();
  await ticks.close();
  queueConnection.disconnect();
  await db.end();
  await prisma.$disconnect();
  await pool.end();
  await simulationApp.stop();
  await campaignApp.stop();
  await campaignDatabase.drop();
});

const newUser = (roles: Role[] = ["PLAYER"]) => asUser(randomUUID(), roles);
const idOf = (viewer: Viewer) => (viewer.kind === "user" ? viewer.userId : "");

async function lifecycle(gm: Viewer, action: "startCampaign" | "pauseCampaign" | "resumeCampaign" | "endCampaign", id: string) {
  await dataAs(campaignUrl, gm, `mutation($id: ID!) { ${action}(id: $id) { id status } }`, { id });
}

/** A DRAFT campaign with a game master and two players. */
async function campaign(seed = `seed-${randomUUID().slice(0, 8)}`) {
  const gm = newUser(["GAME_MASTER"]);
  const alice = newUser();
  const bob = newUser();
  const created = await dataAs<{ createCampaign: { id: string } }>(
    campaignUrl,
    gm,
    "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { id } }",
    { input: { name: `Sim ${randomUUID().slice(0, 6)}`, tickRateMs: TICK_MS, seed } },
  );
  const campaignId = created.createCampaign.id;
  for (const p of [alice, bob]) await dataAs(campaignUrl, p, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
  return { gm, alice, bob, campaignId, seed };
}

const SUBMIT = "mutation($input: SubmitCommandInput!) { submitCommand(input: $input) { id type status tick error reason idempotencyKey } }";
type SubmitResult = { submitCommand: { id: string; type: string; status: string; tick: number | null; error: string | null; reason: string | null } };
const submit = (viewer: Viewer, campaignId: string, type: string, payload: unknown, idempotencyKey: string = randomUUID()) =>
  callAs<SubmitResult>(url, viewer, SUBMIT, { input: { campaignId, type, payload, idempotencyKey } });

const worldRow = async (campaignId: string) =>
  (await db.query<{ tick: number; status: string; hash: string }>("SELECT tick, status, hash FROM worlds WHERE campaign_id = $1", [campaignId])).rows[0];

const untilTick = (campaignId: string, tick: number, timeoutMs = 15_000) =>
  eventually(`tick ${tick} of ${campaignId}`, async () => ((await worldRow(campaignId))?.tick ?? -1) >= tick ? true : undefined, timeoutMs);

/**
 * Drives a PAUSED campaign's ticks by hand, as a worker would: its world is set RUNNING while
 * the test holds the campaign's lifecycle lock, so no worker pool's reconciler (this suite's,
 * or another suite's on the same database) schedules ticks for it meanwhile; it is PAUSED
 * again before the lock is released.
 */
async function drivenByHand(campaignId: string, run: () => Promise<void>): Promise<void> {
  await db.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [`simulation:lifecycle:${campaignId}`]);
  try {
    await db.query("UPDATE worlds SET status = 'RUNNING' WHERE campaign_id = $1", [campaignId]);
    await run();
  } finally {
    await db.query("UPDATE worlds SET status = 'PAUSED' WHERE campaign_id = $1", [campaignId]);
    await db.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [`simulation:lifecycle:${campaignId}`]);
  }
}

describe("submitCommand", () => {
  it("queues a member's command once per idempotency key: a repeat, even concurrent, returns the first", async () => {
    const { alice, campaignId } = await campaign();
    const key = randomUUID();
    const first = await submit(alice, campaignId, "SET_TAX", { rate: 30 }, key);
    expect(first.data?.submitCommand).toMatchObject({ type: "SET_TAX", status: "PENDING", tick: null });
    const repeats = await Promise.all([
      submit(alice, campaignId, "SET_TAX", { rate: 30 }, key),
      submit(alice, campaignId, "SET_POLICY", { policy: "research" }, key),
      submit(alice, campaignId, "SET_TAX", { rate: 10 }, key),
    ]);
    expect(repeats.map((r) => r.data?.submitCommand.id)).toEqual([first.data!.submitCommand.id, first.data!.submitCommand.id, first.data!.submitCommand.id]);
    const rows = await db.query("SELECT payload FROM commands WHERE campaign_id = $1", [campaignId]);
    expect(rows.rows).toEqual([{ payload: { rate: 30 } }]);
  });

  it("refuses obviously invalid input at once with BAD_USER_INPUT", async () => {
    const { alice, campaignId } = await campaign();
    for (const [type, payload] of [
      ["SET_TAX", { rate: 99 }],
      ["SET_TAX", { rate: "high" }],
      ["SET_POLICY", { policy: "anarchy" }],
      ["BUILD", { cityId: "city-1", item: "death_star" }],
      ["TRADE_ORDER", { good: "food", side: "buy", quantity: -5 }],
      ["MOVE_FLEET", [1, 2]],
      ["RESEARCH", {}],
    ] as const) {
      expect(errorCodes(await submit(alice, campaignId, type, payload))).toEqual(["BAD_USER_INPUT"]);
    }
    expect(errorCodes(await submit(alice, campaignId, "SET_TAX", { rate: 10 }, ""))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await submit(alice, "not-an-id", "SET_TAX", { rate: 10 }))).toEqual(["BAD_USER_INPUT"]);
    expect(errorCodes(await callAs(url, alice, SUBMIT, { input: { campaignId, type: "NUKE", payload: {}, idempotencyKey: "k" } }))).toEqual(["BAD_USER_INPUT"]);
    expect((await db.query("SELECT count(*)::int AS n FROM commands WHERE campaign_id = $1", [campaignId])).rows[0].n).toBe(0);
  });

  it("lets only members act, each for their own civilization, and shows each only their own commands (IDOR)", async () => {
    const { alice, bob, campaignId } = await campaign();
    const outsider = newUser();
    const admin = newUser(["ADMIN"]);
    const analyst = newUser(["ANALYST"]);
    expect(errorCodes(await submit(outsider, campaignId, "SET_TAX", { rate: 5 }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await submit(admin, campaignId, "SET_TAX", { rate: 5 }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await submit(analyst, campaignId, "SET_TAX", { rate: 5 }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await submit(alice, randomUUID(), "SET_TAX", { rate: 5 }))).toEqual(["NOT_FOUND"]);
    // A payload naming someone else's civilization does not make the command theirs.
    const mine = await submit(alice, campaignId, "SET_TAX", { rate: 5, civId: "civ-1" });
    expect(mine.errors).toBeUndefined();
    await submit(bob, campaignId, "SET_TAX", { rate: 7 });
    const list = (viewer: Viewer) => dataAs<{ commands: { id: string }[] }>(url, viewer, "query($id: ID!) { commands(campaignId: $id) { id } }", { id: campaignId });
    expect((await list(alice)).commands.map((c) => c.id)).toEqual([mine.data!.submitCommand.id]);
    expect(errorCodes(await callAs(url, outsider, "query($id: ID!) { commands(campaignId: $id) { id } }", { id: campaignId }))).toEqual(["FORBIDDEN"]);
    expect(errorCodes(await callAs(url, outsider, "query($id: ID!) { myCivilization(campaignId: $id) { id } }", { id: campaignId }))).toEqual(["FORBIDDEN"]);
  });
});

describe("the world and its ticks", () => {
  it("generates the world from the campaign's seed and members when it starts, then applies queued commands at tick 1", async () => {
    const { gm, alice, bob, campaignId, seed } = await campaign();
    const tax = await submit(alice, campaignId, "SET_TAX", { rate: 35 });
    await submit(bob, campaignId, "RESEARCH", { techId: "no-such-tech" });
    await lifecycle(gm, "startCampaign", campaignId);
    await untilTick(campaignId, 2);
    // The world is exactly what the engine generates from the seed and the member list.
    const tick0 = await prisma.tickLog.findUnique({ where: { campaignId_tick: { campaignId, tick: 1 } } });
    expect(tick0).not.toBeNull();
    const params = (await prisma.world.findUniqueOrThrow({ where: { campaignId } })).params as { seed: string; playerIds: string[] };
    expect(params.seed).toBe(seed);
    expect([...params.playerIds].sort()).toEqual([idOf(gm), idOf(alice), idOf(bob)].sort());
    expect(generateWorld(params).civilizations.filter((c) => c.playerId).length).toBe(3);

    const commands = await dataAs<{ commands: { id: string; status: string; tick: number; reason: string | null }[] }>(
      url,
      alice,
      "query($id: ID!) { commands(campaignId: $id) { id status tick reason } }",
      { id: campaignId },
    );
    expect(commands.commands).toEqual([{ id: tax.data!.submitCommand.id, status: "APPLIED", tick: 1, reason: null }]);
    const bobs = await dataAs<{ commands: { status: string; tick: number; reason: string }[] }>(url, bob, "query($id: ID!) { commands(campaignId: $id) { status tick reason } }", { id: campaignId });
    expect(bobs.commands).toEqual([{ status: "REJECTED", tick: 1, reason: "NOT_FOUND" }]);

    const mine = await dataAs<{ myCivilization: { id: string; taxRate: number; resources: { credits: number }; player: { id: string } } }>(
      url,
      alice,
      "query($id: ID!) { myCivilization(campaignId: $id) { id taxRate resources { credits } player { id } } }",
      { id: campaignId },
    );
    expect(mine.myCivilization).toMatchObject({ taxRate: 35, player: { id: idOf(alice) } });
    const map = await dataAs<{ galaxyMap: { civilizationId: string; systems: { id: string }[] } }>(url, alice, "query($id: ID!) { galaxyMap(campaignId: $id) { civilizationId systems { id } } }", { id: campaignId });
    expect(map.galaxyMap.civilizationId).toBe(mine.myCivilization.id);
    expect(map.galaxyMap.systems.length).toBeGreaterThan(0);
    // Others' civilizations are visible without their books.
    const world = await dataAs<{ _entities: { world: { tick: number; civilizations: { id: string; resources: unknown }[] } }[] }>(
      url,
      bob,
      'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Campaign { world { tick civilizations { id resources { credits } } } } } }',
      { reps: [{ __typename: "Campaign", id: campaignId }] },
    );
    const alicesCiv = world._entities[0]!.world.civilizations.find((c) => c.id === mine.myCivilization.id);
    expect(alicesCiv).toEqual({ id: mine.myCivilization.id, resources: null });
    type Board = { leaderboard: { rank: number; civilizationId: string; name: string; score: number; player: { id: string } | null }[] };
    const BOARD = "query($id: ID!, $first: Int) { leaderboard(campaignId: $id, first: $first) { rank civilizationId name score player { id } } }";
    const board = await dataAs<Board>(url, bob, BOARD, { id: campaignId, first: 3 });
    const whole = await dataAs<Board>(url, bob, BOARD, { id: campaignId, first: 500 });
    // Best first, from rank 1; ticks go on between the two reads, so each is checked on its own.
    const ranks = (rows: Board["leaderboard"]) => rows.map((row) => row.rank);
    expect(board.leaderboard).toHaveLength(3);
    expect(board.leaderboard[0]!.rank).toBe(1);
    expect(ranks(board.leaderboard)).toEqual([...ranks(board.leaderboard)].sort((a, b) => a - b));
    expect(ranks(whole.leaderboard)).toEqual([...ranks(whole.leaderboard)].sort((a, b) => a - b));
    expect(whole.leaderboard.length).toBeGreaterThan(3);
    expect(whole.leaderboard.find((row) => row.civilizationId === mine.myCivilization.id)?.player).toEqual({ id: idOf(alice) });

    const integrity = await dataAs<{ worldIntegrity: { matches: boolean; savedHash: string; replayedHash: string } }>(
      url,
      gm,
      "query($id: ID!) { worldIntegrity(campaignId: $id) { tick savedHash replayedHash matches } }",
      { id: campaignId },
    );
    expect(integrity.worldIntegrity.matches).toBe(true);
    expect(errorCodes(await callAs(url, alice, "query($id: ID!) { worldIntegrity(campaignId: $id) { matches } }", { id: campaignId }))).toEqual(["FORBIDDEN"]);
    await lifecycle(gm, "endCampaign", campaignId);
  });

  it("ticks only while the campaign is RUNNING: pause stops the schedule, resume restarts it", async () => {
    const { gm, campaignId } = await campaign();
    await lifecycle(gm, "startCampaign", campaignId);
    await untilTick(campaignId, 2);
    await lifecycle(gm, "pauseCampaign", campaignId);
    await eventually("PAUSED world", async () => ((await worldRow(campaignId))?.status === "PAUSED" ? true : undefined));
    const paused = (await worldRow(campaignId))!.tick;
    await new Promise((resolve) => setTimeout(resolve, TICK_MS * 4));
    expect((await worldRow(campaignId))!.tick).toBeLessThanOrEqual(paused + 1); // at most the one in flight
    const settled = (await worldRow(campaignId))!.tick;
    await new Promise((resolve) => setTimeout(resolve, TICK_MS * 3));
    expect((await worldRow(campaignId))!.tick).toBe(settled);
    await lifecycle(gm, "resumeCampaign", campaignId);
    await untilTick(campaignId, settled + 2);
    await lifecycle(gm, "endCampaign", campaignId);
    await eventually("ENDED world", async () => ((await worldRow(campaignId))?.status === "ENDED" ? true : undefined));
  });

  it("rebuilds tick schedules from PostgreSQL: a lost one comes back once, one left behind goes", async () => {
    const { gm, campaignId } = await campaign();
    const schedule = createTickSchedule(ticks, { attempts: 1, backoffMs: 100 });
    const schedulersOf = async () => (await ticks.getJobSchedulers(0, -1)).filter((s) => s.key === tickSchedulerId(campaignId));
    await lifecycle(gm, "startCampaign", campaignId);
    await untilTick(campaignId, 1);

    // Redis lost it (nothing else would bring it back: the campaign's events are long handled).
    await schedule.stop(campaignId);
    const first = await worker.reconcile();
    expect(first.schedulesAdded).toBeGreaterThanOrEqual(1);
    expect((await schedulersOf()).map((s) => s.every)).toEqual([TICK_MS]);
    // Again: already right, so left alone (and never a second scheduler).
    await worker.reconcile();
    expect((await schedulersOf()).map((s) => s.every)).toEqual([TICK_MS]);

    // A schedule for a world that is not RUNNING (left behind) is removed.
    await lifecycle(gm, "pauseCampaign", campaignId);
    await eventually("PAUSED world", async () => ((await worldRow(campaignId))?.status === "PAUSED" ? true : undefined));
    await schedule.start(campaignId, TICK_MS);
    const second = await worker.reconcile();
    expect(second.schedulesRemoved).toBeGreaterThanOrEqual(1);
    expect(await schedulersOf()).toEqual([]);
    await lifecycle(gm, "endCampaign", campaignId);
  });

  it("gives a member who joins a running campaign an AI civilization, and hands a leaver's back to the AI", async () => {
    const { gm, alice, campaignId } = await campaign();
    await lifecycle(gm, "startCampaign", campaignId);
    await untilTick(campaignId, 1);
    const MINE = "query($id: ID!) { myCivilization(campaignId: $id) { id player { id } } }";
    const carol = newUser();
    await dataAs(campaignUrl, carol, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: campaignId });
    const claimed = await eventually("carol's civilization", async () => {
      const data = await dataAs<{ myCivilization: { id: string; player: { id: string } } | null }>(url, carol, MINE, { id: campaignId });
      return data.myCivilization ?? undefined;
    });
    expect(claimed.player.id).toBe(idOf(carol));
    const aliceCiv = (await dataAs<{ myCivilization: { id: string } }>(url, alice, MINE, { id: campaignId })).myCivilization;
    expect(aliceCiv.id).not.toBe(claimed.id);
    // Her own commands list shows her intents only, not the simulation's membership command.
    expect((await dataAs<{ commands: unknown[] }>(url, carol, "query($id: ID!) { commands(campaignId: $id) { id } }", { id: campaignId })).commands).toEqual([]);

    await dataAs(campaignUrl, alice, "mutation($id: ID!) { leaveCampaign(campaignId: $id) }", { id: campaignId });
    await eventually("alice's civilization back with the AI", async () => {
      const [row] = (await db.query<{ player: string | null }>("SELECT state->'civilizations' @> $2::jsonb AS player FROM worlds WHERE campaign_id = $1", [campaignId, JSON.stringify([{ id: aliceCiv.id, playerId: null }])])).rows;
      return row?.player ? true : undefined;
    });
    await lifecycle(gm, "endCampaign", campaignId);
  });

  it("records each TICK_STATS_EVERY-th tick's economy and standings for analytics, in the tick's transaction", async () => {
    const { gm, alice, campaignId } = await campaign();
    await lifecycle(gm, "startCampaign", campaignId);
    await untilTick(campaignId, 1);
    await lifecycle(gm, "pauseCampaign", campaignId);
    await eventually("PAUSED world", async () => ((await worldRow(campaignId))?.status === "PAUSED" ? true : undefined));
    // Ticks by hand, every second one recorded: the schedule is off while PAUSED.
    const driven: number[] = [];
    await drivenByHand(campaignId, async () => {
      // One command of alice's, decided by the first tick driven: counted once, in the first record.
      await submit(alice, campaignId, "SET_TAX", { rate: 15 });
      const deps = { db: prisma, pool, logger: captureLogs("tick", "warn").logger, statsEvery: 2 };
      for (let i = 0; i < 4; i++) {
        const job = { targetTick: undefined as number | undefined, setTargetTick: async (t: number) => void (job.targetTick = t) };
        let run = await runTick(deps, campaignId, job);
        for (let j = 0; j < 50 && run.outcome === "busy"; j++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          run = await runTick(deps, campaignId, job);
        }
        expect(run.outcome).toBe("applied");
        driven.push((run as { tick: number }).tick);
      }
    });
    const { rows } = await db.query<{ topic: string; version: number; data: Record<string, unknown> }>(
      "SELECT topic, version, data FROM outbox_events WHERE aggregate_id = $1 AND type = 'TICK_STATS' AND version = ANY($2) ORDER BY version",
      [campaignId, driven],
    );
    expect(rows.map((r) => r.version)).toEqual(driven.filter((tick) => tick % 2 === 0));
    const world = (await db.query<{ civs: { id: string }[] }>("SELECT state->'civilizations' AS civs FROM worlds WHERE campaign_id = $1", [campaignId])).rows[0]!.civs;
    const alicesCommands = rows.map((row) => (row.data.civilizations as { playerId: string | null; commands: number }[]).find((c) => c.playerId === idOf(alice))?.commands);
    expect(alicesCommands).toEqual([1, 0]);
    for (const row of rows) {
      expect(row.topic).toBe(Topics.telemetry("simulation"));
      const parsed = parseEvent({ id: randomUUID(), type: "TICK_STATS", topic: row.topic, occurredAt: new Date().toISOString(), aggregateId: campaignId, version: row.version, data: row.data, traceparent: null });
      expect(parsed).toMatchObject({ ok: true });
      const civs = row.data.civilizations as { civId: string; playerId: string | null; population: number; output: number }[];
      expect(civs.map((c) => c.civId).sort()).toEqual(world.map((c) => c.id).sort());
      expect(civs.find((c) => c.playerId === idOf(alice))?.population).toBeGreaterThan(0);
      // Its cities produced something in the recorded tick (the tick's own figure, not the world's stock).
      expect(civs.find((c) => c.playerId === idOf(alice))?.output).toBeGreaterThan(0);
      expect(row.data).toMatchObject({ campaignId, tick: row.version, prices: expect.objectContaining({ food: expect.any(Number) }) });
    }
    await lifecycle(gm, "endCampaign", campaignId);
  });

  it("gives a world its first tick when the tick job comes before the world's creation commits", async () => {
    // The lifecycle job schedules the ticks (the first at once) inside the transaction that
    // creates the world; under load the first tick job can run before that commit.
    const campaignId = randomUUID();
    const params = { seed: `first-tick-${campaignId}`, playerIds: [] };
    const world = generateWorld(params);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted = false;
    const creating = prisma.$transaction(async (tx) => {
      await lockCampaign(prismaSql(tx), campaignId);
      await insertWorld(prismaSql(tx), { campaignId, status: "RUNNING", campaignVersion: 1, tickRateMs: 600_000, params, world, hash: hashWorld(world) });
      inserted = true;
      await held;
    });
    try {
      await eventually("the world inserted, not committed", async () => (inserted ? true : undefined));
      const job = { targetTick: undefined as number | undefined, setTargetTick: async (t: number) => void (job.targetTick = t) };
      const ticking = runTick({ db: prisma, pool, logger: captureLogs("tick", "warn").logger }, campaignId, job);
      // The tick waits for the creation's lock instead of finding no world.
      await eventually("the tick waiting on the lifecycle lock", async () => {
        const { rows } = await db.query<{ waiting: number }>("SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%hashtextextended%'");
        return rows[0]!.waiting > 0 ? true : undefined;
      });
      release();
      await creating;
      expect(await ticking).toMatchObject({ outcome: "applied", tick: 1 });
    } finally {
      release();
      await creating.catch(() => undefined);
      // No schedule runs it, but another suite's worker pool would give a RUNNING world one.
      await db.query("UPDATE worlds SET status = 'ENDED' WHERE campaign_id = $1", [campaignId]);
    }
  });

  it("backs off at once from a world another tick holds, whoever holds the campaign's lifecycle lock", async () => {
    const campaignId = randomUUID();
    const params = { seed: `busy-${campaignId}`, playerIds: [] };
    const world = generateWorld(params);
    await prisma.$transaction((tx) => insertWorld(prismaSql(tx), { campaignId, status: "RUNNING", campaignVersion: 1, tickRateMs: 600_000, params, world, hash: hashWorld(world) }));
    const holder = new pg.Client({ connectionString: required("SIMULATION_DATABASE_URL") });
    await holder.connect();
    try {
      // Another tick's transaction holds the world row; the test holds the lifecycle lock, as drivenByHand does.
      await holder.query("BEGIN");
      await holder.query("SELECT tick FROM worlds WHERE campaign_id = $1 FOR UPDATE", [campaignId]);
      await db.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [`simulation:lifecycle:${campaignId}`]);
      const job = { targetTick: undefined as number | undefined, setTargetTick: async (t: number) => void (job.targetTick = t) };
      expect(await runTick({ db: prisma, pool, logger: captureLogs("tick", "warn").logger }, campaignId, job)).toEqual({ outcome: "busy" });
    } finally {
      await db.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [`simulation:lifecycle:${campaignId}`]);
      await holder.query("ROLLBACK").catch(() => undefined);
      await holder.end();
      await db.query("UPDATE worlds SET status = 'ENDED' WHERE campaign_id = $1", [campaignId]);
    }
  });

  it("applies a tick exactly once: a retried or duplicated tick job changes nothing", async () => {
    const { gm, alice, campaignId } = await campaign();
    await lifecycle(gm, "startCampaign", campaignId);
    await untilTick(campaignId, 1);
    await lifecycle(gm, "pauseCampaign", campaignId);
    await eventually("PAUSED world", async () => ((await worldRow(campaignId))?.status === "PAUSED" ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, TICK_MS * 2));
    // Drive ticks by hand, as a worker would: the schedule is off while PAUSED.
    await drivenByHand(campaignId, async () => {
      await submit(alice, campaignId, "SET_TAX", { rate: 12 });
      const before = (await worldRow(campaignId))!;
      const deps = { db: prisma, pool, logger: captureLogs("tick", "warn").logger };
      const job = { targetTick: undefined as number | undefined, setTargetTick: async (t: number) => void (job.targetTick = t) };
      // The pool may hold the world row for a moment (a tick job in flight): "busy" means try again.
      let first = await runTick(deps, campaignId, job);
      for (let i = 0; i < 50 && first.outcome === "busy"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        first = await runTick(deps, campaignId, job);
      }
      expect(first).toMatchObject({ outcome: "applied", tick: before.tick + 1, commands: 1 });
      const after = (await worldRow(campaignId))!;
      // The same job again (a retry after its worker died post-commit), and a copy of it.
      expect(await runTick(deps, campaignId, job)).toEqual({ outcome: "already-applied", tick: before.tick + 1 });
      expect(await runTick(deps, campaignId, { ...job })).toEqual({ outcome: "already-applied", tick: before.tick + 1 });
      expect(await worldRow(campaignId)).toEqual(after);
      const logged = await db.query("SELECT tick FROM tick_log WHERE campaign_id = $1 ORDER BY tick", [campaignId]);
      expect(logged.rows.map((r) => r.tick)).toEqual(Array.from({ length: after.tick }, (_, i) => i + 1));
      const events = await db.query("SELECT count(*)::int AS n FROM outbox_events WHERE aggregate_id = $1 AND type = 'TICK_COMPLETED' AND version = $2", [campaignId, after.tick]);
      expect(events.rows[0].n).toBe(1);
      // The same job twice at once: one applies the next tick, the other backs off (the row is
      // locked) or finds it applied. Both carry the tick they are for, as a job does once it
      // has run: Promise.all does not make them overlap (the second may wait for a pool
      // connection while the first commits), and a job without a target that runs after the
      // first would rightly apply the tick after.
      const twin = { targetTick: after.tick + 1, setTargetTick: async () => undefined };
      const racing = await Promise.all([1, 2].map(() => runTick(deps, campaignId, { ...twin })));
      expect(racing.filter((r) => r.outcome === "applied")).toHaveLength(1);
      expect((await worldRow(campaignId))!.tick).toBe(after.tick + 1);
    });
    await lifecycle(gm, "endCampaign", campaignId);
  });

  it("does not save a tick that breaks conservation", async () => {
    const { gm, campaignId } = await campaign();
    await lifecycle(gm, "startCampaign", campaignId);
    await untilTick(campaignId, 1);
    await lifecycle(gm, "pauseCampaign", campaignId);
    await eventually("PAUSED world", async () => ((await worldRow(campaignId))?.status === "PAUSED" ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, TICK_MS * 2));
    await drivenByHand(campaignId, async () => {
      const before = (await worldRow(campaignId))!;
      const counterfeit: TickStep = { name: "counterfeit", run: (ctx) => void (ctx.world.civilizations[0]!.credits += 1000) };
      const steps = [...TICK_STEPS.slice(0, -1), counterfeit, TICK_STEPS[TICK_STEPS.length - 1]!];
      const deps = { db: prisma, pool, logger: captureLogs("tick", "warn").logger, engine: { steps } };
      await expect(runTick(deps, campaignId, { setTargetTick: async () => undefined })).rejects.toBeInstanceOf(ConservationError);
      expect(await worldRow(campaignId)).toEqual(before);
    });
    expect(hashWorld(generateWorld({ seed: "x", playerIds: [] }))).toMatch(/^[0-9a-f]{64}$/);
    await lifecycle(gm, "endCampaign", campaignId);
  });
});
