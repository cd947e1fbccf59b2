import { Prisma } from "../generated/prisma/client";
import type { Db } from "../db";
import { dayStart, type RetentionArgs, type ActiveUsersArgs, type ChatActivityArgs, type EventSeriesArgs, type MyStatsArgs, type TickHistoryArgs } from "./input";

/*
 * What analysts read, each from a rollup the ingest keeps (never by scanning raw events).
 * Days are UTC days; a range [from, to) of days counts the days its moments fall on.
 */

const TRUNC = { MINUTE: "minute", HOUR: "hour", DAY: "day" } as const;

/** `2026-12-07`: the UTC day a moment falls on, as PostgreSQL reads a date whatever the session's time zone. */
const isoDay = (at: Date) => dayStart(at).toISOString().slice(0, 10);

/** Distinct active users in the window ending on each day of the range. */
export async function activeUsers(db: Db, args: ActiveUsersArgs): Promise<{ day: Date; users: number }[]> {
  const rows = await db.$queryRaw<{ day: string; users: number }[]>`
    SELECT d.day::text AS day,
           (SELECT count(DISTINCT user_id)::int FROM user_activity a
             WHERE a.day > d.day - ${args.windowDays}::int AND a.day <= d.day) AS users
      FROM generate_series(${isoDay(args.from)}::date, ${isoDay(args.to)}::date, interval '1 day') AS g(at),
           LATERAL (SELECT g.at::date AS day) d
     ORDER BY d.day`;
  return rows.map((row) => ({ day: new Date(`${row.day}T00:00:00Z`), users: row.users }));
}

const BUCKET_MS = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 } as const;

export type EventSeries = { producer: string; type: string; start: Date; bucket: EventSeriesArgs["bucket"]; counts: number[]; total: number };

/**
 * Events per bucket, one series per producer and type, summed from the per-minute rollup. A
 * series is an array of counts (a chart's shape): a day of minutes for twelve types is twelve
 * arrays, not 17,280 objects to resolve field by field.
 */
export async function eventSeries(db: Db, args: EventSeriesArgs): Promise<EventSeries[]> {
  const size = BUCKET_MS[args.bucket];
  // UTC buckets are whole multiples of their size since the epoch (no leap seconds in it).
  const start = Math.floor(args.from.getTime() / size) * size;
  const buckets = Math.ceil((args.to.getTime() - start) / size);
  const rows = await db.$queryRaw<{ at: Date; producer: string; type: string; count: number }[]>`
    SELECT date_trunc(${TRUNC[args.bucket]}, minute, 'UTC') AS at, producer, type, sum(count)::int AS count
      FROM event_counts
     WHERE minute >= ${args.from} AND minute < ${args.to}
       AND (${args.producer}::text IS NULL OR producer = ${args.producer})
       AND (${args.type}::text IS NULL OR type = ${args.type})
     GROUP BY 1, 2, 3
     ORDER BY 2, 3, 1`;
  const series: EventSeries[] = [];
  for (const row of rows) {
    let current = series.at(-1);
    if (!current || current.producer !== row.producer || current.type !== row.type) {
      current = { producer: row.producer, type: row.type, start: new Date(start), bucket: args.bucket, counts: new Array<number>(buckets).fill(0), total: 0 };
      series.push(current);
    }
    current.counts[Math.floor((row.at.getTime() - start) / size)] = row.count;
    current.total += row.count;
  }
  return series;
}

export type TickRow = {
  campaignId: string;
  tick: number;
  completedAt: Date | null;
  commandsApplied: number;
  commandsRejected: number;
  engineEvents: number;
  battles: number;
  fleetsDestroyed: number;
  wars: number;
};

export const tickHistory = (db: Db, args: TickHistoryArgs): Promise<TickRow[]> =>
  db.$queryRaw<TickRow[]>`
    SELECT campaign_id::text AS "campaignId", tick, completed_at AS "completedAt", commands_applied AS "commandsApplied",
           commands_rejected AS "commandsRejected", engine_events AS "engineEvents", battles, fleets_destroyed AS "fleetsDestroyed", wars
      FROM campaign_ticks
     WHERE campaign_id = ${args.campaignId}::uuid AND tick >= ${args.fromTick}
     ORDER BY tick
     LIMIT ${args.first}`;

/** The first and last UTC day of [from, to). */
const days = (range: { from: Date; to: Date }) => ({ from: isoDay(range.from), to: isoDay(new Date(range.to.getTime() - 1)) });

export async function chatActivity(db: Db, args: ChatActivityArgs): Promise<{ userId: string; messages: number; activeDays: number }[]> {
  const { from, to } = days(args);
  const campaign = args.campaignId ? Prisma.sql`AND campaign_id = ${args.campaignId}::uuid` : Prisma.empty;
  return db.$queryRaw`
    SELECT user_id::text AS "userId", sum(messages)::int AS messages, count(DISTINCT day)::int AS "activeDays"
      FROM chat_activity
     WHERE day >= ${from}::date AND day <= ${to}::date ${campaign}
     GROUP BY user_id
     ORDER BY messages DESC, user_id
     LIMIT ${args.first}`;
}

export async function playerStats(db: Db, userId: string, args: MyStatsArgs): Promise<{ activeDays: number; events: number; messages: number }> {
  const { from, to } = days(args);
  const [row] = await db.$queryRaw<{ activeDays: number; events: number; messages: number }[]>`
    SELECT (SELECT count(*)::int FROM user_activity WHERE user_id = ${userId}::uuid AND day >= ${from}::date AND day <= ${to}::date) AS "activeDays",
           (SELECT coalesce(sum(events), 0)::int FROM user_activity WHERE user_id = ${userId}::uuid AND day >= ${from}::date AND day <= ${to}::date) AS events,
           (SELECT coalesce(sum(messages), 0)::int FROM chat_activity WHERE user_id = ${userId}::uuid AND day >= ${from}::date AND day <= ${to}::date) AS messages`;
  return row ?? { activeDays: 0, events: 0, messages: 0 };
}

export type RetentionCohort = { day: Date; users: number; day1: number | null; day7: number | null; day30: number | null };

/**
 * N-day retention: of the players who signed up on a day, those active on the Nth day after
 * it (user_activity), from the cohorts the ingest keeps. A day that has not begun yet has no
 * figure (null), rather than a 0 that reads as everyone leaving.
 */
export async function retention(db: Db, args: RetentionArgs, now = new Date()): Promise<RetentionCohort[]> {
  const rows = await db.$queryRaw<{ day: string; users: number; day1: number; day7: number; day30: number }[]>`
    SELECT c.registered_day::text AS day, count(*)::int AS users,
           count(a1.user_id)::int AS day1, count(a7.user_id)::int AS day7, count(a30.user_id)::int AS day30
      FROM user_cohorts c
      LEFT JOIN user_activity a1 ON a1.user_id = c.user_id AND a1.day = c.registered_day + 1
      LEFT JOIN user_activity a7 ON a7.user_id = c.user_id AND a7.day = c.registered_day + 7
      LEFT JOIN user_activity a30 ON a30.user_id = c.user_id AND a30.day = c.registered_day + 30
     WHERE c.registered_day >= ${isoDay(args.from)}::date AND c.registered_day <= ${isoDay(args.to)}::date
     GROUP BY c.registered_day
     ORDER BY c.registered_day`;
  const today = dayStart(now).getTime();
  const begun = (day: Date, after: number, value: number) => (day.getTime() + after * 86_400_000 <= today ? value : null);
  return rows.map((row) => {
    const day = new Date(`${row.day}T00:00:00Z`);
    return { day, users: row.users, day1: begun(day, 1, row.day1), day7: begun(day, 7, row.day7), day30: begun(day, 30, row.day30) };
  });
}
