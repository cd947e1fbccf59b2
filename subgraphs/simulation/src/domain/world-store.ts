import { Topics, activeTraceparent, checkEventData, eventData, type EventData, type SqlClient } from "@startales/service-kit";
import type { Command as EngineCommand, CommandResult, SimEvent, World } from "../engine";
import { readModelsOf, starSystemsOf } from "./read-models";
import { tickStatsOf } from "./tick-stats";

/*
 * Every write here is SQL on a SqlClient (service-kit pg-sql.ts): the tick runs it on a bare
 * node-postgres transaction, since it writes megabytes of JSON a tick (the world's state,
 * every galaxy map) that Prisma's engine would copy through WebAssembly; world generation and
 * the integrity check run it inside their Prisma transactions (prismaSql).
 */

type OutboxRow = { topic: string; type: string; version: number; data: unknown };

/** Outbox rows of a campaign (transactional outbox: in the caller's transaction), in one statement. */
function insertOutboxEvents(sql: SqlClient, campaignId: string, rows: readonly OutboxRow[], traceparent: string | null | undefined) {
  if (rows.length === 0) return Promise.resolve(0);
  return sql.execute(
    `INSERT INTO outbox_events (id, topic, type, aggregate_id, version, data, traceparent)
     SELECT gen_random_uuid(), r.topic, r.type, $1::uuid, r.version, r.data, $3::text
     FROM jsonb_to_recordset($2::jsonb) AS r(topic text, type text, version int, data jsonb)`,
    [campaignId, JSON.stringify(rows), traceparent ?? null],
  );
}

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
export function recordWorldEvent(sql: SqlClient, campaignId: string, version: number, type: "WORLD_CREATED", data: EventData<"WORLD_CREATED">) {
  const topic = Topics.world(campaignId);
  return insertOutboxEvents(sql, campaignId, [{ topic, type, version, data: eventData(topic, type, data) }], activeTraceparent());
}

/** Rewrites a campaign's read models (civilizations, galaxy maps, leaderboard) for the world's tick. */
export async function writeReadModels(sql: SqlClient, campaignId: string, world: World): Promise<void> {
  const { civilizations, maps, leaderboard } = readModelsOf(world);
  const tick = world.tick;
  await sql.execute(
    `INSERT INTO civilization_views (campaign_id, civ_id, player_id, tick, data)
     SELECT $1::uuid, r.civ_id, r.player_id::uuid, $2::int, r.data
     FROM jsonb_to_recordset($3::jsonb) AS r(civ_id text, player_id text, data jsonb)
     ON CONFLICT (campaign_id, civ_id) DO UPDATE SET player_id = EXCLUDED.player_id, tick = EXCLUDED.tick, data = EXCLUDED.data`,
    [campaignId, tick, JSON.stringify(civilizations.map((c) => ({ civ_id: c.civId, player_id: c.playerId, data: c.data })))],
  );
  await sql.execute(
    `INSERT INTO galaxy_map_views (campaign_id, civ_id, tick, map)
     SELECT $1::uuid, r.civ_id, $2::int, r.map
     FROM jsonb_to_recordset($3::jsonb) AS r(civ_id text, map jsonb)
     ON CONFLICT (campaign_id, civ_id) DO UPDATE SET tick = EXCLUDED.tick, map = EXCLUDED.map`,
    [campaignId, tick, JSON.stringify(maps.map((m) => ({ civ_id: m.civId, map: m.map })))],
  );
  await sql.execute("DELETE FROM leaderboard WHERE campaign_id = $1::uuid", [campaignId]);
  await sql.execute(
    `INSERT INTO leaderboard (campaign_id, civ_id, rank, name, player_id, score, population, techs, ships, tick)
     SELECT $1::uuid, r."civId", r.rank, r.name, r."playerId"::uuid, r.score, r.population, r.techs, r.ships, $2::int
     FROM jsonb_to_recordset($3::jsonb)
       AS r("civId" text, rank int, name text, "playerId" text, score int, population int, techs int, ships int)`,
    [campaignId, tick, JSON.stringify(leaderboard)],
  );
}

export type NewWorld = { campaignId: string; status: string; campaignVersion: number; tickRateMs: number; params: { seed: string; playerIds: string[] }; world: World; hash: string };

/** Saves a freshly generated world (tick 0) and its read models; false when the campaign already has one. */
export async function insertWorld(sql: SqlClient, w: NewWorld): Promise<boolean> {
  const inserted = await sql.execute(
    `INSERT INTO worlds (campaign_id, tick, status, campaign_version, tick_rate_ms, params, state, hash, star_systems, updated_at)
     VALUES ($1::uuid, $2::int, $3, $4::int, $5::int, $6::jsonb, $7::jsonb, $8, $9::jsonb, now())
     ON CONFLICT (campaign_id) DO NOTHING`,
    [w.campaignId, w.world.tick, w.status, w.campaignVersion, w.tickRateMs, JSON.stringify(w.params), JSON.stringify(w.world), w.hash, JSON.stringify(starSystemsOf(w.world))],
  );
  if (inserted === 0) return false;
  await writeReadModels(sql, w.campaignId, w.world);
  await recordWorldEvent(sql, w.campaignId, 0, "WORLD_CREATED", { tick: 0, hash: w.hash, civilizations: w.world.civilizations.length, systems: w.world.systems.length });
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
export async function saveTick(sql: SqlClient, r: TickRecord): Promise<boolean> {
  const tick = r.world.tick;
  const updated = await sql.execute(
    `UPDATE worlds SET tick = $2::int, state = $3::jsonb, hash = $4, last_error = NULL, updated_at = now()
     WHERE campaign_id = $1::uuid AND tick = $5::int`,
    [r.campaignId, tick, JSON.stringify(r.world), r.hash, r.expectedTick],
  );
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
    await sql.execute(
      `UPDATE commands AS c SET status = r.status::"CommandStatus", tick = $2::int, reason = r.reason, error = r.error, civ_id = r.civ_id
       FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, status text, reason text, error text, civ_id text)
       WHERE c.id = r.id AND c.campaign_id = $1::uuid`,
      [r.campaignId, tick, JSON.stringify(outcomes)],
    );
  }
  await sql.execute(
    `INSERT INTO tick_log (campaign_id, tick, commands, results, events, hash)
     VALUES ($1::uuid, $2::int, $3::jsonb, $4::jsonb, $5::jsonb, $6)`,
    [r.campaignId, tick, JSON.stringify(r.commands), JSON.stringify(r.results), JSON.stringify(r.events), r.hash],
  );
  await writeReadModels(sql, r.campaignId, r.world);
  const notable = r.events.filter((e) => e.type !== "TICK_COMPLETED" && PUBLISHED_EVENT_TYPES.has(e.type)).slice(0, MAX_PUBLISHED_EVENTS);
  const completed = r.events.filter((e) => e.type === "TICK_COMPLETED");
  const traceparent = activeTraceparent();
  const topic = Topics.world(r.campaignId);
  await insertOutboxEvents(
    sql,
    r.campaignId,
    [...notable, ...completed].map((e) => ({ topic, type: e.type, version: tick, data: checkEventData(topic, e.type, { ...e.data, tick }) })),
    traceparent,
  );
  if (r.statsEvery && tick % r.statsEvery === 0) {
    // Each player's commands decided since the last record (this tick's included).
    const decided = await sql.rows<{ userId: string; commands: number }>(
      `SELECT user_id::text AS "userId", count(*)::int AS commands FROM commands
        WHERE campaign_id = $1::uuid AND tick > $2::int AND tick <= $3::int
        GROUP BY user_id`,
      [r.campaignId, tick - r.statsEvery, tick],
    );
    const commandsByPlayer = new Map(decided.map((row) => [row.userId, row.commands]));
    const telemetry = Topics.telemetry("simulation");
    await insertOutboxEvents(sql, r.campaignId, [{ topic: telemetry, type: "TICK_STATS", version: tick, data: eventData(telemetry, "TICK_STATS", tickStatsOf(r.campaignId, r.world, commandsByPlayer, r.output)) }], traceparent);
  }
  return true;
}

/** The event log of a campaign, for replay: what each tick was fed, in order. */
export async function loadTickInputs(sql: SqlClient, campaignId: string, upTo: number): Promise<Map<number, EngineCommand[]>> {
  const rows = await sql.rows<{ tick: number; commands: EngineCommand[] }>("SELECT tick, commands FROM tick_log WHERE campaign_id = $1::uuid AND tick <= $2::int ORDER BY tick", [campaignId, upTo]);
  return new Map(rows.map((row) => [row.tick, row.commands]));
}
