import { Topics, activeTraceparent, checkEventData, eventData, type EventData } from "@startales/service-kit";
import type { Command as EngineCommand, CommandResult, SimEvent, World } from "../engine";
import type { Prisma } from "../generated/prisma/client";
import { readModelsOf, starSystemsOf } from "./read-models";
import { tickStatsOf } from "./tick-stats";

export type Tx = Prisma.TransactionClient;

/** Events a tick announces on the campaign's feed (`campaignEvents`); the rest stay in the tick log. */
export const PUBLISHED_EVENT_TYPES: ReadonlySet<string> = new Set([
  "TICK_COMPLETED",
  "FLEET_ARRIVED",
  "BATTLE_RESOLVED",
  "FLEET_DESTROYED",
  "RESEARCH_COMPLETED",
  "PRICE_SHOCK",
  "WAR_DECLARED",
  "PEACE_MADE",
  "TREATY_SIGNED",
  "CIVILIZATION_CLAIMED",
  "CIVILIZATION_RELEASED",
]);
/** A bound on one tick's notable events in the feed (TICK_COMPLETED is always published). */
const MAX_PUBLISHED_EVENTS = 200;

/**
 * Records an event of the campaign's world (`world:<campaignId>`, simulation's own topic) in
 * the caller's transaction (transactional outbox), checked against its contract.
 */
export function recordWorldEvent(tx: Tx, campaignId: string, version: number, type: "WORLD_CREATED", data: EventData<"WORLD_CREATED">) {
  const topic = Topics.world(campaignId);
  return tx.outboxEvent.create({ data: { topic, type, aggregateId: campaignId, version, data: eventData(topic, type, data), traceparent: activeTraceparent() } });
}

/** Rewrites a campaign's read models (civilizations, galaxy maps, leaderboard) for the world's tick. */
export async function writeReadModels(tx: Tx, campaignId: string, world: World): Promise<void> {
  const { civilizations, maps, leaderboard } = readModelsOf(world);
  const tick = world.tick;
  await tx.$executeRaw`
    INSERT INTO civilization_views (campaign_id, civ_id, player_id, tick, data)
    SELECT ${campaignId}::uuid, r.civ_id, r.player_id::uuid, ${tick}, r.data
    FROM jsonb_to_recordset(${JSON.stringify(civilizations.map((c) => ({ civ_id: c.civId, player_id: c.playerId, data: c.data })))}::jsonb)
      AS r(civ_id text, player_id text, data jsonb)
    ON CONFLICT (campaign_id, civ_id) DO UPDATE SET player_id = EXCLUDED.player_id, tick = EXCLUDED.tick, data = EXCLUDED.data`;
  await tx.$executeRaw`
    INSERT INTO galaxy_map_views (campaign_id, civ_id, tick, map)
    SELECT ${campaignId}::uuid, r.civ_id, ${tick}, r.map
    FROM jsonb_to_recordset(${JSON.stringify(maps.map((m) => ({ civ_id: m.civId, map: m.map })))}::jsonb) AS r(civ_id text, map jsonb)
    ON CONFLICT (campaign_id, civ_id) DO UPDATE SET tick = EXCLUDED.tick, map = EXCLUDED.map`;
  await tx.$executeRaw`DELETE FROM leaderboard WHERE campaign_id = ${campaignId}::uuid`;
  await tx.$executeRaw`
    INSERT INTO leaderboard (campaign_id, civ_id, rank, name, player_id, score, population, techs, ships, tick)
    SELECT ${campaignId}::uuid, r."civId", r.rank, r.name, r."playerId"::uuid, r.score, r.population, r.techs, r.ships, ${tick}
    FROM jsonb_to_recordset(${JSON.stringify(leaderboard)}::jsonb)
      AS r("civId" text, rank int, name text, "playerId" text, score int, population int, techs int, ships int)`;
}

export type NewWorld = { campaignId: string; status: string; campaignVersion: number; tickRateMs: number; params: { seed: string; playerIds: string[] }; world: World; hash: string };

/** Saves a freshly generated world (tick 0) and its read models; false when the campaign already has one. */
export async function insertWorld(tx: Tx, w: NewWorld): Promise<boolean> {
  const inserted = await tx.$executeRaw`
    INSERT INTO worlds (campaign_id, tick, status, campaign_version, tick_rate_ms, params, state, hash, star_systems, updated_at)
    VALUES (${w.campaignId}::uuid, ${w.world.tick}, ${w.status}, ${w.campaignVersion}, ${w.tickRateMs}, ${JSON.stringify(w.params)}::jsonb,
            ${JSON.stringify(w.world)}::jsonb, ${w.hash}, ${JSON.stringify(starSystemsOf(w.world))}::jsonb, now())
    ON CONFLICT (campaign_id) DO NOTHING`;
  if (inserted === 0) return false;
  await writeReadModels(tx, w.campaignId, w.world);
  await recordWorldEvent(tx, w.campaignId, 0, "WORLD_CREATED", { tick: 0, hash: w.hash, civilizations: w.world.civilizations.length, systems: w.world.systems.length });
  return true;
}

export type TickRecord = {
  campaignId: string;
  expectedTick: number;
  world: World;
  hash: string;
  commands: readonly EngineCommand[];
  results: readonly CommandResult[];
  events: readonly SimEvent[];
  /** Record TICK_STATS for analytics when the tick is a multiple of this (TICK_STATS_EVERY); 0: never. */
  statsEvery?: number;
  /** Units of goods each civilization's cities produced in the tick (the tick's outcome), for TICK_STATS. */
  output?: ReadonlyMap<string, number>;
};

/**
 * Saves one tick: the state only if it is still at `expectedTick` (the version check that
 * makes a retried or duplicated tick a no-op), the commands' outcomes, the tick's entry in the
 * event log, the read models and the events (outbox), all in the caller's transaction.
 * Returns false, having written nothing, when another run already saved this tick.
 */
export async function saveTick(tx: Tx, r: TickRecord): Promise<boolean> {
  const tick = r.world.tick;
  const updated = await tx.$executeRaw`
    UPDATE worlds SET tick = ${tick}, state = ${JSON.stringify(r.world)}::jsonb, hash = ${r.hash}, last_error = NULL, updated_at = now()
    WHERE campaign_id = ${r.campaignId}::uuid AND tick = ${r.expectedTick}`;
  if (updated === 0) return false;
  const byId = new Map(r.commands.map((c) => [c.id, c]));
  const outcomes = r.results.map((result) => ({
    id: result.commandId,
    status: result.status,
    reason: result.status === "REJECTED" ? result.reason : null,
    error: result.status === "REJECTED" ? result.message : null,
    civ_id: byId.get(result.commandId)?.civId || null,
  }));
  if (outcomes.length > 0) {
    await tx.$executeRaw`
      UPDATE commands AS c SET status = r.status::"CommandStatus", tick = ${tick}, reason = r.reason, error = r.error, civ_id = r.civ_id
      FROM jsonb_to_recordset(${JSON.stringify(outcomes)}::jsonb) AS r(id uuid, status text, reason text, error text, civ_id text)
      WHERE c.id = r.id AND c.campaign_id = ${r.campaignId}::uuid`;
  }
  await tx.$executeRaw`
    INSERT INTO tick_log (campaign_id, tick, commands, results, events, hash)
    VALUES (${r.campaignId}::uuid, ${tick}, ${JSON.stringify(r.commands)}::jsonb, ${JSON.stringify(r.results)}::jsonb, ${JSON.stringify(r.events)}::jsonb, ${r.hash})`;
  await writeReadModels(tx, r.campaignId, r.world);
  const notable = r.events.filter((e) => e.type !== "TICK_COMPLETED" && PUBLISHED_EVENT_TYPES.has(e.type)).slice(0, MAX_PUBLISHED_EVENTS);
  const completed = r.events.filter((e) => e.type === "TICK_COMPLETED");
  const traceparent = activeTraceparent();
  const topic = Topics.world(r.campaignId);
  await tx.outboxEvent.createMany({
    data: [...notable, ...completed].map((e) => ({
      topic,
      type: e.type,
      aggregateId: r.campaignId,
      version: tick,
      data: checkEventData(topic, e.type, { ...e.data, tick }) as Prisma.InputJsonValue,
      traceparent,
    })),
  });
  if (r.statsEvery && tick % r.statsEvery === 0) {
    // Each player's commands decided since the last record (this tick's included).
    const decided = await tx.$queryRaw<{ userId: string; commands: number }[]>`
      SELECT user_id::text AS "userId", count(*)::int AS commands FROM commands
       WHERE campaign_id = ${r.campaignId}::uuid AND tick > ${tick - r.statsEvery} AND tick <= ${tick}
       GROUP BY user_id`;
    const commandsByPlayer = new Map(decided.map((row) => [row.userId, row.commands]));
    const telemetry = Topics.telemetry("simulation");
    await tx.outboxEvent.create({
      data: { topic: telemetry, type: "TICK_STATS", aggregateId: r.campaignId, version: tick, data: eventData(telemetry, "TICK_STATS", tickStatsOf(r.campaignId, r.world, commandsByPlayer, r.output)), traceparent },
    });
  }
  return true;
}

/** The event log of a campaign, for replay: what each tick was fed, in order. */
export async function loadTickInputs(tx: Tx, campaignId: string, upTo: number): Promise<Map<number, EngineCommand[]>> {
  const rows = await tx.tickLog.findMany({ where: { campaignId, tick: { lte: upTo } }, select: { tick: true, commands: true }, orderBy: { tick: "asc" } });
  return new Map(rows.map((row) => [row.tick, row.commands as unknown as EngineCommand[]]));
}
