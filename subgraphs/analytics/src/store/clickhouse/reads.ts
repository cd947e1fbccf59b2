import type { ClickHouseClient } from "@clickhouse/client";
import type { AiUsageTotals, AnalyticsStore, ApiErrorTotals, CampaignAiUsage, Bucket, ChatRow, CivilizationTick, CohortRow, CommandRow, Day, TickRow } from "../analytics-store";
import { at, dateOfDateTime, day, int, str, uuid } from "./literals";

type Reads = Pick<AnalyticsStore, "activeUsers" | "eventCounts" | "cohorts" | "tickHistory" | "chatActivity" | "playerStats" | "sessionLengths" | "commandActivity" | "funnel" | "economyHistory" | "civilizationHistory" | "aiUsage" | "aiUsageByCampaign" | "aiSeries" | "apiOperations" | "apiErrors" | "apiSeries" | "deprecatedUsage">;

const TRUNC: Record<Bucket, string> = { MINUTE: "minute", HOUR: "toStartOfHour(minute)", DAY: "toStartOfDay(minute)" };
const DAY_MS = 86_400_000;

/** Every day from `from` to `to`. */
function daysFrom(from: Day, to: Day): Day[] {
  const days: Day[] = [];
  for (let ms = Date.parse(`${from}T00:00:00Z`); ms <= Date.parse(`${to}T00:00:00Z`); ms += DAY_MS) days.push(new Date(ms).toISOString().slice(0, 10));
  return days;
}

/**
 * The rollup reads on ClickHouse. Rollups hold partial rows until their engine merges them,
 * so every read adds up (sum, uniqExact) rather than trusting one row per key.
 */
export function clickhouseReads(client: ClickHouseClient): Reads {
  const rows = async <T>(query: string): Promise<T[]> => (await client.query({ query, format: "JSONEachRow" })).json<T>();

  return {
    async activeUsers(range, windowDays) {
      // Each activity day counts toward the windows ending on it and the windowDays - 1 days after.
      const counted = await rows<{ point: Day; users: number }>(`
        SELECT toString(day + n) AS point, uniqExact(user_id) AS users
          FROM user_activity ARRAY JOIN range(${int(windowDays)}) AS n
         WHERE day > ${day(range.from)} - ${int(windowDays)} AND day <= ${day(range.to)}
           AND day + n >= ${day(range.from)} AND day + n <= ${day(range.to)}
         GROUP BY point`);
      const users = new Map(counted.map((row) => [row.point, Number(row.users)]));
      return daysFrom(range.from, range.to).map((d) => ({ day: d, users: users.get(d) ?? 0 }));
    },

    async eventCounts(query) {
      const found = await rows<{ at: string; producer: string; type: string; count: number }>(`
        SELECT toString(${TRUNC[query.bucket]}) AS at, producer, type, sum(count) AS count
          FROM event_counts
         WHERE minute >= ${at(query.from)} AND minute < ${at(query.to)}
           ${query.producer === null ? "" : `AND producer = ${str(query.producer)}`}
           ${query.type === null ? "" : `AND type = ${str(query.type)}`}
         GROUP BY at, producer, type
         ORDER BY producer, type, at`);
      return found.map((row) => ({ at: dateOfDateTime(row.at), producer: row.producer, type: row.type, count: Number(row.count) }));
    },

    async cohorts(range) {
      // Each cohort member's activity days within 30 days of the range, as one array to test.
      const found = await rows<CohortRow>(`
        SELECT toString(registered) AS day, count() AS users,
               countIf(has(days, registered + 1)) AS day1, countIf(has(days, registered + 7)) AS day7, countIf(has(days, registered + 30)) AS day30
          FROM (SELECT user_id, min(registered_day) AS registered FROM user_cohorts GROUP BY user_id
                 HAVING registered >= ${day(range.from)} AND registered <= ${day(range.to)})
          ANY LEFT JOIN (SELECT user_id, groupArray(day) AS days FROM user_activity
                          WHERE day > ${day(range.from)} AND day <= ${day(range.to)} + 30 GROUP BY user_id) USING user_id
         GROUP BY registered
         ORDER BY registered`);
      return found.map((row) => ({ day: row.day, users: Number(row.users), day1: Number(row.day1), day7: Number(row.day7), day30: Number(row.day30) }));
    },

    async tickHistory(query) {
      const found = await rows<Omit<TickRow, "completedAt"> & { completedAt: number }>(`
        SELECT toString(campaign) AS campaignId, tick, toUInt32(max(completed_at)) AS completedAt,
               sum(commands_applied) AS commandsApplied, sum(commands_rejected) AS commandsRejected, sum(engine_events) AS engineEvents,
               sum(battles) AS battles, sum(fleets_destroyed) AS fleetsDestroyed, sum(wars) AS wars
          FROM campaign_ticks
         WHERE campaign = ${uuid(query.campaignId)} AND tick >= ${int(query.fromTick)}
         GROUP BY campaign, tick
         ORDER BY tick
         LIMIT ${int(query.first)}`);
      return found.map((row) => ({
        campaignId: row.campaignId,
        tick: Number(row.tick),
        // 0: only events of the tick other than TICK_COMPLETED have arrived.
        completedAt: Number(row.completedAt) === 0 ? null : new Date(Number(row.completedAt) * 1000),
        commandsApplied: Number(row.commandsApplied),
        commandsRejected: Number(row.commandsRejected),
        engineEvents: Number(row.engineEvents),
        battles: Number(row.battles),
        fleetsDestroyed: Number(row.fleetsDestroyed),
        wars: Number(row.wars),
      }));
    },

    async chatActivity({ range, campaignId, first }) {
      const found = await rows<ChatRow>(`
        SELECT toString(user_id) AS userId, sum(messages) AS messages, uniqExact(day) AS activeDays
          FROM chat_activity
         WHERE day >= ${day(range.from)} AND day <= ${day(range.to)} ${campaignId ? `AND campaign = ${uuid(campaignId)}` : ""}
         GROUP BY user_id
         ORDER BY messages DESC, userId
         LIMIT ${int(first)}`);
      return found.map((row) => ({ userId: row.userId, messages: Number(row.messages), activeDays: Number(row.activeDays) }));
    },

    async playerStats(userId, range) {
      const inRange = `user_id = ${uuid(userId)} AND day >= ${day(range.from)} AND day <= ${day(range.to)}`;
      const [row] = await rows<{ activeDays: number; events: number; messages: number; commands: number; sessionMs: number }>(`
        SELECT (SELECT uniqExact(day) FROM user_activity WHERE ${inRange}) AS activeDays,
               (SELECT sum(events) FROM user_activity WHERE ${inRange}) AS events,
               (SELECT sum(messages) FROM chat_activity WHERE ${inRange}) AS messages,
               (SELECT sum(commands) FROM command_activity WHERE ${inRange}) AS commands,
               (SELECT sum(duration_ms) FROM session_activity WHERE ${inRange}) AS sessionMs`);
      return {
        activeDays: Number(row?.activeDays ?? 0),
        events: Number(row?.events ?? 0),
        messages: Number(row?.messages ?? 0),
        commands: Number(row?.commands ?? 0),
        sessionMs: Number(row?.sessionMs ?? 0),
      };
    },

    async sessionLengths(range) {
      const found = await rows<{ point: Day; sessionCount: number; totalMs: number; buckets: number[] }>(`
        SELECT toString(day) AS point, sum(sessions) AS sessionCount, sum(duration_ms) AS totalMs, sumForEach(buckets) AS buckets
          FROM session_lengths
         WHERE day >= ${day(range.from)} AND day <= ${day(range.to)}
         GROUP BY day
         ORDER BY day`);
      return found.map((row) => ({ day: row.point, sessions: Number(row.sessionCount), durationMs: Number(row.totalMs), buckets: row.buckets.map(Number) }));
    },

    async commandActivity({ range, campaignId, first }) {
      const found = await rows<CommandRow>(`
        SELECT toString(user_id) AS userId, sum(commands) AS commands, uniqExact(day) AS activeDays
          FROM command_activity
         WHERE day >= ${day(range.from)} AND day <= ${day(range.to)} ${campaignId ? `AND campaign = ${uuid(campaignId)}` : ""}
         GROUP BY user_id
         ORDER BY commands DESC, userId
         LIMIT ${int(first)}`);
      return found.map((row) => ({ userId: row.userId, commands: Number(row.commands), activeDays: Number(row.activeDays) }));
    },

    async funnel(range, today) {
      // 18.16 joins one table per SELECT: the cohort with its milestones, then with each member's last active day.
      const cohort = `SELECT user_id FROM user_cohorts WHERE registered_day >= ${day(range.from)} AND registered_day <= ${day(range.to)}`;
      // Output names differ from the columns they count: an alias named like a column replaces it.
      const [row] = await rows<Record<"users" | "joinedUsers" | "commandedUsers" | "atDay7" | "activeAtDay7", number>>(`
        SELECT count() AS users, countIf(has(reached, 'JOINED')) AS joinedUsers, countIf(has(reached, 'COMMANDED')) AS commandedUsers,
               countIf(signed_up + 7 <= ${day(today)}) AS atDay7,
               countIf(signed_up + 7 <= ${day(today)} AND last_active >= signed_up + 7) AS activeAtDay7
          FROM (
            SELECT user_id, signed_up, reached
              FROM (SELECT user_id, min(registered_day) AS signed_up FROM user_cohorts GROUP BY user_id
                     HAVING signed_up >= ${day(range.from)} AND signed_up <= ${day(range.to)})
              ANY LEFT JOIN (SELECT user_id, groupUniqArray(milestone) AS reached FROM user_milestones WHERE user_id IN (${cohort}) GROUP BY user_id) USING user_id
          )
          ANY LEFT JOIN (SELECT user_id, max(day) AS last_active FROM user_activity WHERE user_id IN (${cohort}) GROUP BY user_id) USING user_id`);
      return {
        registered: Number(row?.users ?? 0),
        joined: Number(row?.joinedUsers ?? 0),
        commanded: Number(row?.commandedUsers ?? 0),
        reachedDay7: Number(row?.atDay7 ?? 0),
        activeAfterDay7: Number(row?.activeAtDay7 ?? 0),
      };
    },

    async economyHistory({ campaignId, fromTick, first }) {
      const found = await rows<{ tick: number; recordedAt: string; population: number; credits: number; ships: number; battles: number; tradeVolume: number; meanStability: number; prices: string }>(`
        SELECT tick, toString(any(recorded_at)) AS recordedAt, any(population) AS population, any(credits) AS credits, any(ships) AS ships, any(battles) AS battles,
               any(trade_volume) AS tradeVolume, any(mean_stability) AS meanStability, any(prices) AS prices
          FROM economy_ticks
         WHERE campaign_id = ${uuid(campaignId)} AND tick >= ${int(fromTick)}
         GROUP BY tick
         ORDER BY tick
         LIMIT ${int(first)}`);
      return found.map((row) => ({
        tick: Number(row.tick),
        recordedAt: dateOfDateTime(row.recordedAt),
        population: Number(row.population),
        credits: Number(row.credits),
        ships: Number(row.ships),
        battles: Number(row.battles),
        tradeVolume: Number(row.tradeVolume),
        meanStability: Number(row.meanStability),
        prices: JSON.parse(row.prices) as Record<string, number>,
      }));
    },

    async civilizationHistory({ campaignId, fromTick, first }) {
      // civOutput: an alias named like the column would replace it inside the aggregate.
      const found = await rows<Omit<CivilizationTick, "eliminated" | "output"> & { eliminated: number; civOutput: number | string | null }>(`
        SELECT tick, civ_id AS civId, any(toString(player_id)) AS playerId, any(population) AS population, any(credits) AS credits, any(score) AS score,
               any(stability) AS stability, any(ships) AS ships, any(output) AS civOutput, any(eliminated) AS eliminated, any(commands) AS commands
          FROM civilization_ticks
         WHERE campaign_id = ${uuid(campaignId)}
           AND tick IN (SELECT DISTINCT tick FROM economy_ticks WHERE campaign_id = ${uuid(campaignId)} AND tick >= ${int(fromTick)} ORDER BY tick LIMIT ${int(first)})
         GROUP BY tick, civ_id
         ORDER BY tick, score DESC, civId`);
      return found.map((row) => ({
        tick: Number(row.tick),
        civId: row.civId,
        playerId: row.playerId,
        population: Number(row.population),
        credits: Number(row.credits),
        score: Number(row.score),
        stability: Number(row.stability),
        ships: Number(row.ships),
        output: row.civOutput === null ? null : Number(row.civOutput),
        eliminated: Number(row.eliminated) === 1,
        commands: Number(row.commands),
      }));
    },

    async aiUsage({ from, to, first }) {
      // Output names differ from the columns they add up: an alias named like a column replaces it.
      const found = await rows<Record<string, unknown> & { buckets: number[] }>(`
        SELECT kind, deployment, model, sum(requests) AS requestCount, sum(failures) AS failureCount, sum(cache_hits) AS cacheHits,
               sum(failovers) AS failoverCount, sum(prompt_tokens) AS promptTokens, sum(completion_tokens) AS completionTokens,
               sum(cost_micros) AS costMicros, sumForEach(run_buckets) AS buckets
          FROM ai_usage
         WHERE minute >= ${at(from)} AND minute < ${at(to)}
         GROUP BY kind, deployment, model
         ORDER BY requestCount DESC, kind, deployment, model
         LIMIT ${int(first)}`);
      return found.map(
        (row): AiUsageTotals => ({
          kind: String(row.kind),
          deployment: String(row.deployment),
          model: String(row.model),
          requests: Number(row.requestCount),
          failures: Number(row.failureCount),
          cacheHits: Number(row.cacheHits),
          failovers: Number(row.failoverCount),
          promptTokens: Number(row.promptTokens),
          completionTokens: Number(row.completionTokens),
          costMicros: Number(row.costMicros),
          buckets: row.buckets.map(Number),
        }),
      );
    },

    async aiUsageByCampaign({ from, to, first }) {
      const found = await rows<{ campaignId: string; requestCount: number; tokens: number; costMicros: number }>(`
        SELECT campaign AS campaignId, sum(requests) AS requestCount, sum(prompt_tokens + completion_tokens) AS tokens, sum(cost_micros) AS costMicros
          FROM ai_usage
         WHERE minute >= ${at(from)} AND minute < ${at(to)} AND campaign != ''
         GROUP BY campaign
         ORDER BY costMicros DESC, requestCount DESC, campaignId
         LIMIT ${int(first)}`);
      return found.map((row): CampaignAiUsage => ({ campaignId: row.campaignId, requests: Number(row.requestCount), tokens: Number(row.tokens), costMicros: Number(row.costMicros) }));
    },

    async apiOperations({ from, to, first }) {
      const found = await rows<{ operation: string; clientName: string; clientVersion: string; requests: number; errors: number; durationMsSum: number; buckets: number[] }>(`
        SELECT operation, client_name AS clientName, client_version AS clientVersion, sum(requests) AS requests, sum(errors) AS errors,
               sum(duration_ms_sum) AS durationMsSum, sumForEach(duration_buckets) AS buckets
          FROM api_operations
         WHERE minute >= ${at(from)} AND minute < ${at(to)}
         GROUP BY operation, client_name, client_version
         ORDER BY requests DESC, operation, clientName, clientVersion
         LIMIT ${int(first)}`);
      return found.map((row) => ({ ...row, requests: Number(row.requests), errors: Number(row.errors), durationMsSum: Number(row.durationMsSum), buckets: row.buckets.map(Number) }));
    },

    async apiErrors({ from, to }) {
      const found = await rows<ApiErrorTotals>(`
        SELECT operation, client_name AS clientName, client_version AS clientVersion, code, sum(count) AS count
          FROM api_errors
         WHERE minute >= ${at(from)} AND minute < ${at(to)}
         GROUP BY operation, client_name, client_version, code
         ORDER BY operation, clientName, clientVersion, code`);
      return found.map((row) => ({ ...row, count: Number(row.count) }));
    },

    async aiSeries(query) {
      // Output names differ from the columns they add up: an alias named like a column replaces it.
      const found = await rows<{ at: string; requestCount: number; failureCount: number; hits: number; tokens: number; micros: number; buckets: number[] }>(`
        SELECT toString(${TRUNC[query.bucket]}) AS at, sum(requests) AS requestCount, sum(failures) AS failureCount, sum(cache_hits) AS hits,
               sum(prompt_tokens + completion_tokens) AS tokens, sum(cost_micros) AS micros, sumForEach(run_buckets) AS buckets
          FROM ai_usage
         WHERE minute >= ${at(query.from)} AND minute < ${at(query.to)}
           ${query.kind === null ? "" : `AND kind = ${str(query.kind)}`}
           ${query.deployment === null ? "" : `AND deployment = ${str(query.deployment)}`}
         GROUP BY at
         ORDER BY at`);
      return found.map((row) => ({
        at: dateOfDateTime(row.at),
        requests: Number(row.requestCount),
        failures: Number(row.failureCount),
        cacheHits: Number(row.hits),
        tokens: Number(row.tokens),
        costMicros: Number(row.micros),
        buckets: row.buckets.map(Number),
      }));
    },

    async apiSeries(query) {
      const found = await rows<{ at: string; requests: number; errors: number; buckets: number[] }>(`
        SELECT toString(${TRUNC[query.bucket]}) AS at, sum(requests) AS requests, sum(errors) AS errors, sumForEach(duration_buckets) AS buckets
          FROM api_operations
         WHERE minute >= ${at(query.from)} AND minute < ${at(query.to)}
           ${query.operation === null ? "" : `AND operation = ${str(query.operation)}`}
           ${query.clientName === null ? "" : `AND client_name = ${str(query.clientName)}`}
         GROUP BY at
         ORDER BY at`);
      return found.map((row) => ({ at: dateOfDateTime(row.at), requests: Number(row.requests), errors: Number(row.errors), buckets: row.buckets.map(Number) }));
    },

    async deprecatedUsage(query) {
      const found = await rows<{ at: string; field: string; clientName: string; clientVersion: string; count: number }>(`
        SELECT toString(${TRUNC[query.bucket]}) AS at, field, client_name AS clientName, client_version AS clientVersion, sum(count) AS count
          FROM deprecated_usage
         WHERE minute >= ${at(query.from)} AND minute < ${at(query.to)}
         GROUP BY at, field, client_name, client_version
         ORDER BY field, clientName, clientVersion, at`);
      return found.map((row) => ({ at: dateOfDateTime(row.at), field: row.field, clientName: row.clientName, clientVersion: row.clientVersion, count: Number(row.count) }));
    },
  };
}
