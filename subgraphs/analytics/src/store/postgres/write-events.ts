import { OPERATION_LATENCY_BUCKETS_MS } from "@startales/service-kit";
import { AI_LATENCY_BUCKETS_MS, aiUsageRows } from "../../ingest/ai-usage";
import { apiStatRows } from "../../ingest/api-stats";
import { SESSION_BUCKETS_MS, sessionRows } from "../../ingest/sessions";
import type { EventRow } from "../../ingest/event-rows";
import { tickStatRows } from "../../ingest/tick-stats";
import type { Db } from "./db";
import type { Partitions } from "./partitions";
import { summedHistogram } from "./summed-histogram";

// The batch's histograms summed per key before each upsert (an upsert may touch a row once).
const OPERATION_BUCKETS = summedHistogram("buckets", OPERATION_LATENCY_BUCKETS_MS.length + 1);
const RUN_BUCKETS = summedHistogram("buckets", AI_LATENCY_BUCKETS_MS.length + 1);
const SESSION_BUCKETS = summedHistogram("buckets", SESSION_BUCKETS_MS.length + 1);

/**
 * Writes a batch of events and folds the new ones into every rollup, in one statement (one
 * round trip, one transaction): the raw insert skips the events already kept (ON CONFLICT on
 * the event id), and each rollup adds only what that insert returned, so an event delivered
 * twice counts once. Rollup rows are upserted in key order, so two ingest replicas that touch
 * the same rows lock them in the same order. Returns the ids that were new.
 */
export async function writeEvents(db: Db, partitions: Partitions, rows: EventRow[]): Promise<string[]> {
  if (rows.length === 0) return [];
  await partitions.ensureFor(rows.map((row) => row.occurredAt));
  const input = JSON.stringify(
    rows.map((row) => ({
      id: row.id,
      occurred_at: row.occurredAt,
      producer: row.producer,
      family: row.family,
      type: row.type,
      aggregate_id: row.aggregateId,
      campaign_id: row.campaignId,
      actor_id: row.actorId,
      data: row.data,
    })),
  );
  // The gateway's statistics and simulation's tick stats, flattened; each row names its event, kept only if that event is new.
  const api = apiStatRows(rows);
  const ticks = tickStatRows(rows);
  const ai = aiUsageRows(rows);
  const sessions = sessionRows(rows);
  const apiInput = (list: object[]) => JSON.stringify(list);
  const [result] = await db.$queryRaw<{ fresh: string[] }[]>`
    WITH input AS (
      SELECT DISTINCT ON (id, occurred_at) *
        FROM jsonb_to_recordset(${input}::jsonb)
          AS t(id uuid, occurred_at timestamptz, producer text, family text, type text, aggregate_id text, campaign_id uuid, actor_id uuid, data jsonb)
    ),
    fresh AS (
      INSERT INTO analytics_events (id, occurred_at, producer, family, type, aggregate_id, campaign_id, actor_id, data)
      SELECT id, occurred_at, producer, family, type, aggregate_id, campaign_id, actor_id, data FROM input
      ON CONFLICT (occurred_at, id) DO NOTHING
      RETURNING *
    ),
    counts AS (
      INSERT INTO event_counts (minute, producer, type, count)
      SELECT date_trunc('minute', occurred_at), producer, type, count(*) FROM fresh GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (minute, producer, type) DO UPDATE SET count = event_counts.count + excluded.count
    ),
    command_rows AS (
      SELECT c.* FROM jsonb_to_recordset(${apiInput(ticks.commands)}::jsonb)
          AS c("eventId" uuid, day date, "campaignId" uuid, "userId" uuid, commands int)
       WHERE c."eventId" IN (SELECT id FROM fresh)
    ),
    activity AS (
      -- What users did: events they acted in, and commands (counted by the tick stats), in one upsert per row.
      INSERT INTO user_activity (day, user_id, events)
      SELECT day, user_id, sum(n) FROM (
        SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, actor_id AS user_id, 1 AS n FROM fresh WHERE actor_id IS NOT NULL
        UNION ALL
        SELECT day, "userId", commands FROM command_rows
      ) AS acts
      GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (day, user_id) DO UPDATE SET events = user_activity.events + excluded.events
    ),
    commands_added AS (
      INSERT INTO command_activity (day, campaign_id, user_id, commands)
      SELECT day, "campaignId", "userId", sum(commands) FROM command_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (day, campaign_id, user_id) DO UPDATE SET commands = command_activity.commands + excluded.commands
    ),
    milestones_added AS (
      INSERT INTO user_milestones (user_id, milestone, first_at)
      SELECT "userId", milestone, min(at)
        FROM jsonb_to_recordset(${apiInput(ticks.milestones)}::jsonb) AS m("eventId" uuid, "userId" uuid, milestone text, at timestamptz)
       WHERE m."eventId" IN (SELECT id FROM fresh)
       GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (user_id, milestone) DO UPDATE SET first_at = least(user_milestones.first_at, excluded.first_at)
    ),
    chat AS (
      INSERT INTO chat_activity (day, campaign_id, user_id, messages)
      SELECT (occurred_at AT TIME ZONE 'UTC')::date, campaign_id, actor_id, count(*) FROM fresh
       WHERE type = 'MESSAGE_ADDED' AND campaign_id IS NOT NULL AND actor_id IS NOT NULL
       GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (day, campaign_id, user_id) DO UPDATE SET messages = chat_activity.messages + excluded.messages
    ),
    cohorts AS (
      INSERT INTO user_cohorts (user_id, registered_day, method)
      SELECT actor_id, (occurred_at AT TIME ZONE 'UTC')::date, coalesce(data->>'method', '') FROM fresh
       WHERE type = 'ACCOUNT_REGISTERED' AND actor_id IS NOT NULL ORDER BY 1
      ON CONFLICT (user_id) DO NOTHING
    ),
    ticks AS (
      INSERT INTO campaign_ticks (campaign_id, tick, completed_at, commands_applied, commands_rejected, engine_events, battles, fleets_destroyed, wars)
      SELECT campaign_id, (data->>'tick')::int,
             max(occurred_at) FILTER (WHERE type = 'TICK_COMPLETED'),
             coalesce(sum((data->>'commandsApplied')::int) FILTER (WHERE type = 'TICK_COMPLETED'), 0),
             coalesce(sum((data->>'commandsRejected')::int) FILTER (WHERE type = 'TICK_COMPLETED'), 0),
             coalesce(sum((data->>'events')::int) FILTER (WHERE type = 'TICK_COMPLETED'), 0),
             count(*) FILTER (WHERE type = 'BATTLE_RESOLVED'),
             count(*) FILTER (WHERE type = 'FLEET_DESTROYED'),
             count(*) FILTER (WHERE type = 'WAR_DECLARED')
        FROM fresh
       WHERE family = 'world' AND campaign_id IS NOT NULL AND type IN ('TICK_COMPLETED', 'BATTLE_RESOLVED', 'FLEET_DESTROYED', 'WAR_DECLARED')
       GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (campaign_id, tick) DO UPDATE SET
        completed_at = coalesce(excluded.completed_at, campaign_ticks.completed_at),
        commands_applied = campaign_ticks.commands_applied + excluded.commands_applied,
        commands_rejected = campaign_ticks.commands_rejected + excluded.commands_rejected,
        engine_events = campaign_ticks.engine_events + excluded.engine_events,
        battles = campaign_ticks.battles + excluded.battles,
        fleets_destroyed = campaign_ticks.fleets_destroyed + excluded.fleets_destroyed,
        wars = campaign_ticks.wars + excluded.wars
    ),
    api_rows AS (
      SELECT a.* FROM jsonb_to_recordset(${apiInput(api.operations)}::jsonb)
          AS a("eventId" uuid, minute timestamptz, operation text, "clientName" text, "clientVersion" text, requests int, errors int, "durationMsSum" float8, buckets int[])
       WHERE a."eventId" IN (SELECT id FROM fresh)
    ),
    api_operations_added AS (
      INSERT INTO api_operations (minute, operation, client_name, client_version, requests, errors, duration_ms_sum, duration_buckets)
      SELECT minute, operation, "clientName", "clientVersion", sum(requests), sum(errors), sum("durationMsSum"), ${OPERATION_BUCKETS}
        FROM api_rows GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
      ON CONFLICT (minute, operation, client_name, client_version) DO UPDATE SET
        requests = api_operations.requests + excluded.requests,
        errors = api_operations.errors + excluded.errors,
        duration_ms_sum = api_operations.duration_ms_sum + excluded.duration_ms_sum,
        duration_buckets = ARRAY(SELECT x + y FROM unnest(api_operations.duration_buckets, excluded.duration_buckets) AS t(x, y))
    ),
    api_errors_added AS (
      INSERT INTO api_errors (minute, operation, client_name, client_version, code, count)
      SELECT minute, operation, "clientName", "clientVersion", code, sum(count)
        FROM jsonb_to_recordset(${apiInput(api.errors)}::jsonb)
          AS e("eventId" uuid, minute timestamptz, operation text, "clientName" text, "clientVersion" text, code text, count int)
       WHERE e."eventId" IN (SELECT id FROM fresh)
       GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (minute, operation, client_name, client_version, code) DO UPDATE SET count = api_errors.count + excluded.count
    ),
    deprecated_added AS (
      INSERT INTO deprecated_usage (minute, field, client_name, client_version, count)
      SELECT minute, field, "clientName", "clientVersion", sum(count)
        FROM jsonb_to_recordset(${apiInput(api.deprecated)}::jsonb)
          AS d("eventId" uuid, minute timestamptz, field text, "clientName" text, "clientVersion" text, count int)
       WHERE d."eventId" IN (SELECT id FROM fresh)
       GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
      ON CONFLICT (minute, field, client_name, client_version) DO UPDATE SET count = deprecated_usage.count + excluded.count
    ),
    ai_added AS (
      INSERT INTO ai_usage (minute, kind, deployment, model, campaign, requests, failures, cache_hits, failovers, prompt_tokens, completion_tokens, cost_micros, run_buckets)
      SELECT minute, kind, deployment, model, campaign, sum(requests), sum(failures), sum("cacheHits"), sum(failovers),
             sum("promptTokens"), sum("completionTokens"), sum("costMicros"), ${RUN_BUCKETS}
        FROM jsonb_to_recordset(${apiInput(ai)}::jsonb)
          AS u("eventId" uuid, minute timestamptz, kind text, deployment text, model text, campaign text, requests int, failures int, "cacheHits" int,
               failovers int, "promptTokens" bigint, "completionTokens" bigint, "costMicros" bigint, buckets int[])
       WHERE u."eventId" IN (SELECT id FROM fresh)
       GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (minute, kind, deployment, model, campaign) DO UPDATE SET
        requests = ai_usage.requests + excluded.requests,
        failures = ai_usage.failures + excluded.failures,
        cache_hits = ai_usage.cache_hits + excluded.cache_hits,
        failovers = ai_usage.failovers + excluded.failovers,
        prompt_tokens = ai_usage.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = ai_usage.completion_tokens + excluded.completion_tokens,
        cost_micros = ai_usage.cost_micros + excluded.cost_micros,
        run_buckets = ARRAY(SELECT x + y FROM unnest(ai_usage.run_buckets, excluded.run_buckets) AS t(x, y))
    ),
    session_rows AS (
      SELECT s.* FROM jsonb_to_recordset(${apiInput(sessions)}::jsonb) AS s("eventId" uuid, day date, "userId" uuid, "durationMs" bigint, buckets int[])
       WHERE s."eventId" IN (SELECT id FROM fresh)
    ),
    sessions_per_user AS (
      INSERT INTO session_activity (day, user_id, sessions, duration_ms)
      SELECT day, "userId", count(*), sum("durationMs") FROM session_rows GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (day, user_id) DO UPDATE SET sessions = session_activity.sessions + excluded.sessions, duration_ms = session_activity.duration_ms + excluded.duration_ms
    ),
    sessions_per_day AS (
      INSERT INTO session_lengths (day, sessions, duration_ms, buckets)
      SELECT day, count(*), sum("durationMs"), ${SESSION_BUCKETS} FROM session_rows GROUP BY 1 ORDER BY 1
      ON CONFLICT (day) DO UPDATE SET
        sessions = session_lengths.sessions + excluded.sessions,
        duration_ms = session_lengths.duration_ms + excluded.duration_ms,
        buckets = ARRAY(SELECT x + y FROM unnest(session_lengths.buckets, excluded.buckets) AS t(x, y))
    ),
    economy_added AS (
      INSERT INTO economy_ticks (campaign_id, tick, recorded_at, population, credits, ships, battles, trade_volume, mean_stability, prices)
      SELECT "campaignId", tick, "recordedAt", population, credits, ships, battles, "tradeVolume", "meanStability", prices
        FROM jsonb_to_recordset(${apiInput(ticks.economy)}::jsonb)
          AS e("eventId" uuid, "campaignId" uuid, tick int, "recordedAt" timestamptz, population bigint, credits bigint, ships int, battles int, "tradeVolume" bigint, "meanStability" int, prices jsonb)
       WHERE e."eventId" IN (SELECT id FROM fresh)
       ORDER BY 1, 2
      ON CONFLICT (campaign_id, tick) DO NOTHING
    ),
    civilizations_added AS (
      INSERT INTO civilization_ticks (campaign_id, tick, civ_id, player_id, population, credits, score, stability, ships, output, eliminated, commands)
      SELECT "campaignId", tick, "civId", "playerId", population, credits, score, stability, ships, output, eliminated, commands
        FROM jsonb_to_recordset(${apiInput(ticks.civilizations)}::jsonb)
          AS c("eventId" uuid, "campaignId" uuid, tick int, "civId" text, "playerId" uuid, population bigint, credits bigint, score bigint, stability int, ships int, output bigint, eliminated boolean, commands int)
       WHERE c."eventId" IN (SELECT id FROM fresh)
       ORDER BY 1, 2, 3
      ON CONFLICT (campaign_id, tick, civ_id) DO NOTHING
    )
    SELECT coalesce(array_agg(id::text), '{}') AS fresh FROM fresh`;
  return result?.fresh ?? [];
}
