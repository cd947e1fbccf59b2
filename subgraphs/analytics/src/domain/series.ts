import type { AnalyticsStore, Bucket, ChatRow, CommandRow, Day, DayRange, FunnelRow, PlayerStatsRow, TickRow } from "../store/analytics-store";
import { SESSION_BUCKETS_MS } from "../ingest/sessions";
import { histogramQuantile } from "./histogram";
import { DAY_MS, dayStart, type ActiveUsersArgs, type ChatActivityArgs, type EventSeriesArgs, type MyStatsArgs, type RetentionArgs } from "./input";

/*
 * What analysts read, shaped the same whatever the engine: each figure comes from a rollup
 * (the store's reads), never from raw events. Days are UTC days; a range [from, to) of
 * moments covers the days they fall on.
 */

/** `2026-12-07`: the UTC day a moment falls on. */
const isoDay = (at: Date): Day => dayStart(at).toISOString().slice(0, 10);
const dateOf = (day: Day) => new Date(`${day}T00:00:00Z`);

/** The first and last UTC day of the moments [from, to). */
const daysOf = (range: { from: Date; to: Date }): DayRange => ({ from: isoDay(range.from), to: isoDay(new Date(range.to.getTime() - 1)) });

/** Distinct active users in the window ending on each day of the range. */
export async function activeUsers(store: AnalyticsStore, args: ActiveUsersArgs): Promise<{ day: Date; users: number }[]> {
  const points = await store.activeUsers({ from: isoDay(args.from), to: isoDay(args.to) }, args.windowDays);
  return points.map((point) => ({ day: dateOf(point.day), users: point.users }));
}

const BUCKET_MS: Record<Bucket, number> = { MINUTE: 60_000, HOUR: 3_600_000, DAY: DAY_MS };

/** The buckets of [from, to), and which one a moment falls in: a series' arrays are indexed so. */
export function bucketGrid(from: Date, to: Date, bucket: Bucket): { start: Date; count: number; indexOf: (at: Date) => number } {
  const size = BUCKET_MS[bucket];
  // UTC buckets are whole multiples of their size since the epoch (no leap seconds in it).
  const start = Math.floor(from.getTime() / size) * size;
  return { start: new Date(start), count: Math.ceil((to.getTime() - start) / size), indexOf: (at) => Math.floor((at.getTime() - start) / size) };
}

export type EventSeries = { producer: string; type: string; start: Date; bucket: Bucket; counts: number[]; total: number };

/**
 * Events per bucket, one series per producer and type. A series is an array of counts (a
 * chart's shape): a day of minutes for twelve types is twelve arrays, not 17,280 objects to
 * resolve field by field.
 */
export async function eventSeries(store: AnalyticsStore, args: EventSeriesArgs): Promise<EventSeries[]> {
  const grid = bucketGrid(args.from, args.to, args.bucket);
  const series: EventSeries[] = [];
  for (const row of await store.eventCounts(args)) {
    let current = series.at(-1);
    if (!current || current.producer !== row.producer || current.type !== row.type) {
      current = { producer: row.producer, type: row.type, start: grid.start, bucket: args.bucket, counts: new Array<number>(grid.count).fill(0), total: 0 };
      series.push(current);
    }
    current.counts[grid.indexOf(row.at)] = row.count;
    current.total += row.count;
  }
  return series;
}

export const tickHistory = (store: AnalyticsStore, args: { campaignId: string; fromTick: number; first: number }): Promise<TickRow[]> => store.tickHistory(args);

export const chatActivity = (store: AnalyticsStore, args: ChatActivityArgs): Promise<ChatRow[]> =>
  store.chatActivity({ range: daysOf(args), campaignId: args.campaignId, first: args.first });

export const playerStats = (store: AnalyticsStore, userId: string, args: MyStatsArgs): Promise<PlayerStatsRow> => store.playerStats(userId, daysOf(args));

export type SessionDayStats = { day: Date; sessions: number; meanMinutes: number | null; p50Minutes: number | null; p95Minutes: number | null };

/** Per day, the sessions that ended and how long they were (minutes; percentiles estimated from the histogram). */
export async function sessionLengths(store: AnalyticsStore, args: RetentionArgs): Promise<SessionDayStats[]> {
  const days = await store.sessionLengths({ from: isoDay(args.from), to: isoDay(args.to) });
  const minutes = (ms: number | null) => (ms === null ? null : Math.round((ms / 60_000) * 100) / 100);
  return days.map((d) => ({
    day: dateOf(d.day),
    sessions: d.sessions,
    meanMinutes: d.sessions ? minutes(d.durationMs / d.sessions) : null,
    p50Minutes: minutes(histogramQuantile(0.5, d.buckets, SESSION_BUCKETS_MS)),
    p95Minutes: minutes(histogramQuantile(0.95, d.buckets, SESSION_BUCKETS_MS)),
  }));
}

export const commandActivity = (store: AnalyticsStore, args: ChatActivityArgs): Promise<CommandRow[]> =>
  store.commandActivity({ range: daysOf(args), campaignId: args.campaignId, first: args.first });

export type Funnel = FunnelRow & { joinedCampaign: number; firstCommand: number; joinRate: number | null; commandRate: number | null; day7Rate: number | null };

/**
 * The players who signed up on the days of the range, step by step: joined a campaign, had
 * a command decided, still active on or after their 7th day. Each rate is of the step before
 * (the 7th day's of those whose 7th day has begun); null where that is nobody.
 */
export async function funnel(store: AnalyticsStore, args: RetentionArgs, now = new Date()): Promise<Funnel> {
  const row = await store.funnel({ from: isoDay(args.from), to: isoDay(args.to) }, isoDay(now));
  const rate = (part: number, whole: number) => (whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000);
  return {
    ...row,
    joinedCampaign: row.joined,
    firstCommand: row.commanded,
    joinRate: rate(row.joined, row.registered),
    commandRate: rate(row.commanded, row.joined),
    day7Rate: rate(row.activeAfterDay7, row.reachedDay7),
  };
}

export type RetentionCohort = { day: Date; users: number; day1: number | null; day7: number | null; day30: number | null };

/**
 * N-day retention: of the players who signed up on a day, those active on the Nth day after
 * it. A day that has not begun yet has no figure (null), rather than a 0 that reads as
 * everyone leaving.
 */
export async function retention(store: AnalyticsStore, args: RetentionArgs, now = new Date()): Promise<RetentionCohort[]> {
  const today = dayStart(now).getTime();
  const begun = (day: Date, after: number, value: number) => (day.getTime() + after * DAY_MS <= today ? value : null);
  const cohorts = await store.cohorts({ from: isoDay(args.from), to: isoDay(args.to) });
  return cohorts.map((row) => {
    const day = dateOf(row.day);
    return { day, users: row.users, day1: begun(day, 1, row.day1), day7: begun(day, 7, row.day7), day30: begun(day, 30, row.day30) };
  });
}
