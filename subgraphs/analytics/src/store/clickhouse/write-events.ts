import type { ClickHouseClient } from "@clickhouse/client";
import { aiUsageRows } from "../../ingest/ai-usage";
import { apiStatRows } from "../../ingest/api-stats";
import { sessionRows } from "../../ingest/sessions";
import type { EventRow } from "../../ingest/event-rows";
import { tickStatRows } from "../../ingest/tick-stats";
import { at, uuidText } from "./literals";

/**
 * Keeps the events of a batch not kept yet, and returns their ids. ClickHouse has no unique
 * key to conflict on, so the batch's ids are looked up first, within the seconds it spans
 * (the sorting key is (occurred_at, id): a range read, not a scan); only the new ones are
 * inserted, and the materialized views fold exactly those into the rollups. A redelivery —
 * the usual repeat: an ingest that stopped between the insert and its acknowledgement — is
 * then found and skipped. Two replicas inserting the same event at the same instant could
 * both miss it; the consumer group gives an entry to one consumer at a time, so that needs a
 * claim of an entry whose first reader is still writing it (INGEST_CLAIM_IDLE_MS, a minute).
 * The gateway's statistics and the tick stats are inserted after the raw events: an ingest
 * stopped between the two loses those rows (the redelivery is found kept), never counts
 * them twice.
 */
export async function writeEvents(client: ClickHouseClient, rows: EventRow[]): Promise<string[]> {
  const unique = [...new Map(rows.map((row) => [row.id, row])).values()];
  if (unique.length === 0) return [];
  const times = unique.map((row) => Date.parse(row.occurredAt));
  const kept = await client.query({
    query: `SELECT toString(id) AS id FROM analytics_events
             WHERE occurred_at >= ${at(new Date(Math.min(...times)))} AND occurred_at <= ${at(new Date(Math.max(...times)))}
               AND id IN (${unique.map((row) => uuidText(row.id)).join(", ")})`,
    format: "JSONEachRow",
  });
  const seen = new Set((await kept.json<{ id: string }>()).map((row) => row.id));
  const fresh = unique.filter((row) => !seen.has(row.id));
  if (fresh.length === 0) return [];
  await client.insert({
    table: "analytics_events",
    format: "JSONEachRow",
    values: fresh.map((row) => ({
      id: row.id,
      occurred_at: row.occurredAt,
      producer: row.producer,
      family: row.family,
      type: row.type,
      aggregate_id: row.aggregateId,
      campaign_id: row.campaignId,
      actor_id: row.actorId,
      data: JSON.stringify(row.data),
    })),
  });
  await insertDerivedRows(client, fresh);
  return fresh.map((row) => row.id);
}

/** The gateway's statistics and simulation's tick stats of the new events, into their tables (the views cannot unnest them). */
async function insertDerivedRows(client: ClickHouseClient, fresh: EventRow[]): Promise<void> {
  const api = apiStatRows(fresh);
  const ticks = tickStatRows(fresh);
  const ai = aiUsageRows(fresh);
  const sessions = sessionRows(fresh);
  const tables: { table: string; values: object[] }[] = [
    {
      table: "api_operations",
      values: api.operations.map((row) => ({
        minute: row.minute,
        operation: row.operation,
        client_name: row.clientName,
        client_version: row.clientVersion,
        requests: row.requests,
        errors: row.errors,
        duration_ms_sum: row.durationMsSum,
        duration_buckets: row.buckets,
      })),
    },
    {
      table: "api_errors",
      values: api.errors.map((row) => ({ minute: row.minute, operation: row.operation, client_name: row.clientName, client_version: row.clientVersion, code: row.code, count: row.count })),
    },
    {
      table: "economy_ticks",
      values: ticks.economy.map((row) => ({
        campaign_id: row.campaignId,
        tick: row.tick,
        recorded_at: row.recordedAt,
        population: row.population,
        credits: row.credits,
        ships: row.ships,
        battles: row.battles,
        trade_volume: row.tradeVolume,
        mean_stability: row.meanStability,
        prices: JSON.stringify(row.prices),
      })),
    },
    {
      table: "civilization_ticks",
      values: ticks.civilizations.map((row) => ({
        campaign_id: row.campaignId,
        tick: row.tick,
        civ_id: row.civId,
        player_id: row.playerId,
        population: row.population,
        credits: row.credits,
        score: row.score,
        stability: row.stability,
        ships: row.ships,
        output: row.output ?? null,
        eliminated: row.eliminated ? 1 : 0,
        commands: row.commands,
      })),
    },
    {
      table: "ai_usage",
      values: ai.map((row) => ({
        minute: row.minute,
        kind: row.kind,
        deployment: row.deployment,
        model: row.model,
        campaign: row.campaign,
        requests: row.requests,
        failures: row.failures,
        cache_hits: row.cacheHits,
        failovers: row.failovers,
        prompt_tokens: row.promptTokens,
        completion_tokens: row.completionTokens,
        cost_micros: row.costMicros,
        run_buckets: row.buckets,
      })),
    },
    { table: "session_activity", values: sessions.map((row) => ({ day: row.day, user_id: row.userId, sessions: 1, duration_ms: row.durationMs })) },
    { table: "session_lengths", values: sessions.map((row) => ({ day: row.day, sessions: 1, duration_ms: row.durationMs, buckets: row.buckets })) },
    { table: "command_activity", values: ticks.commands.map((row) => ({ day: row.day, campaign: row.campaignId, user_id: row.userId, commands: row.commands })) },
    // Commands are activity too (the materialized view counts only events with an actor).
    { table: "user_activity", values: ticks.commands.map((row) => ({ day: row.day, user_id: row.userId, events: row.commands })) },
    { table: "user_milestones", values: ticks.milestones.map((row) => ({ user_id: row.userId, milestone: row.milestone, first_at: row.at })) },
    {
      table: "deprecated_usage",
      values: api.deprecated.map((row) => ({ minute: row.minute, field: row.field, client_name: row.clientName, client_version: row.clientVersion, count: row.count })),
    },
  ];
  for (const { table, values } of tables) if (values.length) await client.insert({ table, values, format: "JSONEachRow" });
}
