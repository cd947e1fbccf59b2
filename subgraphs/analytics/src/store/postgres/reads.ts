import { OPERATION_LATENCY_BUCKETS_MS } from "@startales/service-kit";
import { AI_LATENCY_BUCKETS_MS } from "../../ingest/ai-usage";
import { Prisma } from "../../generated/prisma/client";
import type { SessionDay, AiUsageTotals, AnalyticsStore, ApiErrorTotals, CampaignAiUsage, ApiOperationTotals, ApiPoint, ChatRow, CivilizationTick, CohortRow, CommandRow, DeprecatedUseCount, EconomyTick, EventCount, FunnelRow, PlayerStatsRow, TickRow, AiPoint } from "../analytics-store";
import type { Db } from "./db";
import { summedHistogram } from "./summed-histogram";

type Reads = Pick<AnalyticsStore, "activeUsers" | "eventCounts" | "cohorts" | "tickHistory" | "chatActivity" | "playerStats" | "sessionLengths" | "commandActivity" | "funnel" | "economyHistory" | "civilizationHistory" | "aiUsage" | "aiUsageByCampaign" | "aiSeries" | "apiOperations" | "apiErrors" | "apiSeries" | "deprecatedUsage">;

const TRUNC = { MINUTE: "minute", HOUR: "hour", DAY: "day" } as const;

const RUN_BUCKETS = summedHistogram("run_buckets", AI_LATENCY_BUCKETS_MS.length + 1);
const OPERATION_BUCKETS = summedHistogram("duration_buckets", OPERATION_LATENCY_BUCKETS_MS.length + 1);

/** The rollup reads on PostgreSQL; days are passed and read as `YYYY-MM-DD` text, whatever the session's time zone. */
export function postgresReads(db: Db): Reads {
  return {
    // The range's rows (and the window's days before it) are read once. A user's activity day
    // counts for the days from itself until their next activity day or the window's end,
    // whichever is sooner: one user's stretches never overlap, so each day's users are the
    // stretches begun by then less those ended by then, a running sum of plain counts, where a
    // DISTINCT per day would read the window's rows again for every day of the range. A one-day
    // window's stretch is its own day (the next activity day is a later one): no ordering needed.
    activeUsers: (range, windowDays) =>
      db.$queryRaw<{ day: string; users: number }[]>`
        WITH stretches AS (
          SELECT greatest(day, ${range.from}::date) AS since,
                 ${windowDays === 1 ? Prisma.sql`day + 1` : Prisma.sql`least(day + ${windowDays}::int, lead(day) OVER (PARTITION BY user_id ORDER BY day))`} AS until
            FROM user_activity
           WHERE day > ${range.from}::date - ${windowDays}::int AND day <= ${range.to}::date
        ), changes AS (
          SELECT CASE WHEN grouping(since) = 0 THEN since ELSE until END AS day,
                 CASE WHEN grouping(since) = 0 THEN count(*) ELSE -count(*) END AS users
            FROM stretches
           WHERE until > ${range.from}::date
           GROUP BY GROUPING SETS (since, until)
        )
        SELECT d.day::text AS day, (sum(coalesce(sum(c.users), 0)) OVER (ORDER BY d.day))::int AS users
          FROM generate_series(${range.from}::date, ${range.to}::date, interval '1 day') AS g(at)
               CROSS JOIN LATERAL (SELECT g.at::date AS day) d
               LEFT JOIN changes c ON c.day = d.day
         GROUP BY d.day
         ORDER BY d.day`,

    eventCounts: (query) =>
      db.$queryRaw<EventCount[]>`
        SELECT date_trunc(${TRUNC[query.bucket]}, minute, 'UTC') AS at, producer, type, sum(count)::int AS count
          FROM event_counts
         WHERE minute >= ${query.from} AND minute < ${query.to}
           AND (${query.producer}::text IS NULL OR producer = ${query.producer})
           AND (${query.type}::text IS NULL OR type = ${query.type})
         GROUP BY 1, 2, 3
         ORDER BY 2, 3, 1`,

    cohorts: (range) =>
      db.$queryRaw<CohortRow[]>`
        SELECT c.registered_day::text AS day, count(*)::int AS users,
               count(a1.user_id)::int AS day1, count(a7.user_id)::int AS day7, count(a30.user_id)::int AS day30
          FROM user_cohorts c
          LEFT JOIN user_activity a1 ON a1.user_id = c.user_id AND a1.day = c.registered_day + 1
          LEFT JOIN user_activity a7 ON a7.user_id = c.user_id AND a7.day = c.registered_day + 7
          LEFT JOIN user_activity a30 ON a30.user_id = c.user_id AND a30.day = c.registered_day + 30
         WHERE c.registered_day >= ${range.from}::date AND c.registered_day <= ${range.to}::date
         GROUP BY c.registered_day
         ORDER BY c.registered_day`,

    tickHistory: (query) =>
      db.$queryRaw<TickRow[]>`
        SELECT campaign_id::text AS "campaignId", tick, completed_at AS "completedAt", commands_applied AS "commandsApplied",
               commands_rejected AS "commandsRejected", engine_events AS "engineEvents", battles, fleets_destroyed AS "fleetsDestroyed", wars
          FROM campaign_ticks
         WHERE campaign_id = ${query.campaignId}::uuid AND tick >= ${query.fromTick}
         ORDER BY tick
         LIMIT ${query.first}`,

    chatActivity: ({ range, campaignId, first }) =>
      db.$queryRaw<ChatRow[]>`
        SELECT user_id::text AS "userId", sum(messages)::int AS messages, count(DISTINCT day)::int AS "activeDays"
          FROM chat_activity
         WHERE day >= ${range.from}::date AND day <= ${range.to}::date
               ${campaignId ? Prisma.sql`AND campaign_id = ${campaignId}::uuid` : Prisma.empty}
         GROUP BY user_id
         ORDER BY messages DESC, user_id
         LIMIT ${first}`,

    async playerStats(userId, range) {
      const [row] = await db.$queryRaw<PlayerStatsRow[]>`
        SELECT (SELECT count(*)::int FROM user_activity WHERE user_id = ${userId}::uuid AND day >= ${range.from}::date AND day <= ${range.to}::date) AS "activeDays",
               (SELECT coalesce(sum(events), 0)::int FROM user_activity WHERE user_id = ${userId}::uuid AND day >= ${range.from}::date AND day <= ${range.to}::date) AS events,
               (SELECT coalesce(sum(messages), 0)::int FROM chat_activity WHERE user_id = ${userId}::uuid AND day >= ${range.from}::date AND day <= ${range.to}::date) AS messages,
               (SELECT coalesce(sum(commands), 0)::int FROM command_activity WHERE user_id = ${userId}::uuid AND day >= ${range.from}::date AND day <= ${range.to}::date) AS commands,
               (SELECT coalesce(sum(duration_ms), 0)::float8 FROM session_activity WHERE user_id = ${userId}::uuid AND day >= ${range.from}::date AND day <= ${range.to}::date) AS "sessionMs"`;
      return row ?? { activeDays: 0, events: 0, messages: 0, commands: 0, sessionMs: 0 };
    },

    sessionLengths: (range) =>
      db.$queryRaw<SessionDay[]>`
        SELECT day::text AS day, sessions, duration_ms::float8 AS "durationMs", buckets
          FROM session_lengths
         WHERE day >= ${range.from}::date AND day <= ${range.to}::date
         ORDER BY day`,

    commandActivity: ({ range, campaignId, first }) =>
      db.$queryRaw<CommandRow[]>`
        SELECT user_id::text AS "userId", sum(commands)::int AS commands, count(DISTINCT day)::int AS "activeDays"
          FROM command_activity
         WHERE day >= ${range.from}::date AND day <= ${range.to}::date
               ${campaignId ? Prisma.sql`AND campaign_id = ${campaignId}::uuid` : Prisma.empty}
         GROUP BY user_id
         ORDER BY commands DESC, user_id
         LIMIT ${first}`,

    async funnel(range, today) {
      const [row] = await db.$queryRaw<FunnelRow[]>`
        SELECT count(*)::int AS registered,
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM user_milestones m WHERE m.user_id = c.user_id AND m.milestone = 'JOINED'))::int AS joined,
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM user_milestones m WHERE m.user_id = c.user_id AND m.milestone = 'COMMANDED'))::int AS commanded,
               count(*) FILTER (WHERE c.registered_day + 7 <= ${today}::date)::int AS "reachedDay7",
               count(*) FILTER (WHERE c.registered_day + 7 <= ${today}::date
                                  AND EXISTS (SELECT 1 FROM user_activity a WHERE a.user_id = c.user_id AND a.day >= c.registered_day + 7))::int AS "activeAfterDay7"
          FROM user_cohorts c
         WHERE c.registered_day >= ${range.from}::date AND c.registered_day <= ${range.to}::date`;
      return row!;
    },

    economyHistory: ({ campaignId, fromTick, first }) =>
      db.$queryRaw<EconomyTick[]>`
        SELECT tick, recorded_at AS "recordedAt", population::float8 AS population, credits::float8 AS credits, ships, battles,
               trade_volume::float8 AS "tradeVolume", mean_stability AS "meanStability", prices
          FROM economy_ticks
         WHERE campaign_id = ${campaignId}::uuid AND tick >= ${fromTick}
         ORDER BY tick
         LIMIT ${first}`,

    civilizationHistory: ({ campaignId, fromTick, first }) =>
      db.$queryRaw<CivilizationTick[]>`
        SELECT tick, civ_id AS "civId", player_id::text AS "playerId", population::float8 AS population, credits::float8 AS credits,
               score::float8 AS score, stability, ships, output::float8 AS output, eliminated, commands
          FROM civilization_ticks
         WHERE campaign_id = ${campaignId}::uuid
           AND tick IN (SELECT tick FROM economy_ticks WHERE campaign_id = ${campaignId}::uuid AND tick >= ${fromTick} ORDER BY tick LIMIT ${first})
         ORDER BY tick, score DESC, civ_id`,

    aiUsage: ({ from, to, first }) =>
      db.$queryRaw<AiUsageTotals[]>`
        SELECT kind, deployment, model, sum(requests)::int AS requests, sum(failures)::int AS failures, sum(cache_hits)::int AS "cacheHits",
               sum(failovers)::int AS failovers, sum(prompt_tokens)::float8 AS "promptTokens", sum(completion_tokens)::float8 AS "completionTokens",
               sum(cost_micros)::float8 AS "costMicros", ${RUN_BUCKETS} AS buckets
          FROM ai_usage
         WHERE minute >= ${from} AND minute < ${to}
         GROUP BY 1, 2, 3
         ORDER BY requests DESC, 1, 2, 3
         LIMIT ${first}`,

    aiSeries: (query) =>
      db.$queryRaw<AiPoint[]>`
        SELECT date_trunc(${TRUNC[query.bucket]}, minute, 'UTC') AS at, sum(requests)::int AS requests, sum(failures)::int AS failures,
               sum(cache_hits)::int AS "cacheHits", sum(prompt_tokens + completion_tokens)::float8 AS tokens, sum(cost_micros)::float8 AS "costMicros",
               ${RUN_BUCKETS} AS buckets
          FROM ai_usage
         WHERE minute >= ${query.from} AND minute < ${query.to}
           AND (${query.kind}::text IS NULL OR kind = ${query.kind})
           AND (${query.deployment}::text IS NULL OR deployment = ${query.deployment})
         GROUP BY 1
         ORDER BY 1`,

    aiUsageByCampaign: ({ from, to, first }) =>
      db.$queryRaw<CampaignAiUsage[]>`
        SELECT campaign AS "campaignId", sum(requests)::int AS requests, sum(prompt_tokens + completion_tokens)::float8 AS tokens, sum(cost_micros)::float8 AS "costMicros"
          FROM ai_usage
         WHERE minute >= ${from} AND minute < ${to} AND campaign <> ''
         GROUP BY 1
         ORDER BY "costMicros" DESC, requests DESC, 1
         LIMIT ${first}`,

    apiOperations: ({ from, to, first }) =>
      db.$queryRaw<ApiOperationTotals[]>`
        SELECT operation, client_name AS "clientName", client_version AS "clientVersion", sum(requests)::int AS requests, sum(errors)::int AS errors,
               sum(duration_ms_sum)::float8 AS "durationMsSum", ${OPERATION_BUCKETS} AS buckets
          FROM api_operations
         WHERE minute >= ${from} AND minute < ${to}
         GROUP BY 1, 2, 3
         ORDER BY requests DESC, 1, 2, 3
         LIMIT ${first}`,

    apiErrors: ({ from, to }) =>
      db.$queryRaw<ApiErrorTotals[]>`
        SELECT operation, client_name AS "clientName", client_version AS "clientVersion", code, sum(count)::int AS count
          FROM api_errors
         WHERE minute >= ${from} AND minute < ${to}
         GROUP BY 1, 2, 3, 4
         ORDER BY 1, 2, 3, 4`,

    apiSeries: (query) =>
      db.$queryRaw<ApiPoint[]>`
        SELECT date_trunc(${TRUNC[query.bucket]}, minute, 'UTC') AS at, sum(requests)::int AS requests, sum(errors)::int AS errors, ${OPERATION_BUCKETS} AS buckets
          FROM api_operations
         WHERE minute >= ${query.from} AND minute < ${query.to}
           AND (${query.operation}::text IS NULL OR operation = ${query.operation})
           AND (${query.clientName}::text IS NULL OR client_name = ${query.clientName})
         GROUP BY 1
         ORDER BY 1`,

    deprecatedUsage: (query) =>
      db.$queryRaw<DeprecatedUseCount[]>`
        SELECT date_trunc(${TRUNC[query.bucket]}, minute, 'UTC') AS at, field, client_name AS "clientName", client_version AS "clientVersion", sum(count)::int AS count
          FROM deprecated_usage
         WHERE minute >= ${query.from} AND minute < ${query.to}
         GROUP BY 1, 2, 3, 4
         ORDER BY 2, 3, 4, 1`,
  };
}
