import { z } from "zod";

export const DAY_MS = 86_400_000;
const id = z.uuid("must be a valid ID");
const date = z.date({ error: "must be a DateTime" });

/** [from, to) with `to` after `from`, spanning at most `maxDays`. */
const range = (maxDays: number) =>
  z
    .object({ from: date, to: date })
    .refine((r) => r.to.getTime() > r.from.getTime(), { path: ["to"], message: "must be after from" })
    .refine((r) => r.to.getTime() - r.from.getTime() <= maxDays * DAY_MS, { path: ["to"], message: `must be at most ${maxDays} days after from` });

/** The UTC day (midnight) a moment falls on. */
export const dayStart = (at: Date) => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

const WINDOW_DAYS = { DAY: 1, WEEK: 7, MONTH: 30 } as const;

/** Days from `from`'s to `to`'s (each down to its UTC midnight), at most 366 of them. */
const dayRange = z
  .object({ from: date, to: date })
  .refine((r) => r.to.getTime() >= r.from.getTime(), { path: ["to"], message: "must not be before from" })
  .refine((r) => dayStart(r.to).getTime() - dayStart(r.from).getTime() < 366 * DAY_MS, { path: ["to"], message: "must be within 366 days of from" })
  .transform((r) => ({ from: dayStart(r.from), to: dayStart(r.to) }));

export const activeUsersArgs = dayRange
  .and(z.object({ window: z.enum(["DAY", "WEEK", "MONTH"]).nullish().transform((w) => w ?? "DAY") }))
  .transform((r) => ({ from: r.from, to: r.to, windowDays: WINDOW_DAYS[r.window] }));
export type ActiveUsersArgs = z.infer<typeof activeUsersArgs>;

/** The widest range per bucket: enough points for a chart, never a scan of years at minute grain. */
export const MAX_DAYS_PER_BUCKET = { MINUTE: 2, HOUR: 93, DAY: 3_660 } as const;

/** [from, to) in buckets: no longer than the bucket allows (MAX_DAYS_PER_BUCKET). */
const bucketed = z
  .object({ from: date, to: date, bucket: z.enum(["MINUTE", "HOUR", "DAY"]) })
  .refine((r) => r.to.getTime() > r.from.getTime(), { path: ["to"], message: "must be after from" })
  .refine((r) => r.to.getTime() - r.from.getTime() <= MAX_DAYS_PER_BUCKET[r.bucket] * DAY_MS, {
    path: ["to"],
    message: "spans too long for the bucket (MINUTE: 2 days, HOUR: 93, DAY: 3660)",
  });

/** An optional name to filter on. */
const name = z.string().min(1).max(64).nullish().transform((p) => p ?? null);

export const eventSeriesArgs = bucketed.and(z.object({ producer: name, type: name }));
export type EventSeriesArgs = z.infer<typeof eventSeriesArgs>;

export const tickHistoryArgs = z.object({
  campaignId: id,
  fromTick: z.number().int().min(0, "must be at least 0").nullish().transform((t) => t ?? 0),
  first: z.number().int().min(1, "must be at least 1").max(5_000, "must be at most 5000").nullish().transform((f) => f ?? 500),
});
export type TickHistoryArgs = z.infer<typeof tickHistoryArgs>;

export const chatActivityArgs = range(366).and(
  z.object({
    campaignId: id.nullish().transform((c) => c ?? null),
    first: z.number().int().min(1, "must be at least 1").max(1_000, "must be at most 1000").nullish().transform((f) => f ?? 100),
  }),
);
export type ChatActivityArgs = z.infer<typeof chatActivityArgs>;

export const myStatsArgs = range(366);
export type MyStatsArgs = z.infer<typeof myStatsArgs>;

export const retentionArgs = dayRange;
export type RetentionArgs = z.infer<typeof retentionArgs>;

// Lower-case, as every id in events and rollups is: an erasure must match them all.
export const forgetUserArgs = z.object({ userId: id.transform((value) => value.toLowerCase()) });

export const apiOperationsArgs = range(93).and(
  z.object({ first: z.number().int().min(1, "must be at least 1").max(1_000, "must be at most 1000").nullish().transform((f) => f ?? 100) }),
);
export type ApiOperationsArgs = z.infer<typeof apiOperationsArgs>;

export const apiSeriesArgs = bucketed.and(z.object({ operation: name, clientName: name }));
export type ApiSeriesArgs = z.infer<typeof apiSeriesArgs>;

export const deprecatedUsageArgs = bucketed;
export type DeprecatedUsageArgs = z.infer<typeof deprecatedUsageArgs>;

/** A campaign's recorded ticks from `fromTick`, at most `first`. */
const campaignTicks = (maxFirst: number, defaultFirst: number) =>
  z.object({
    campaignId: id,
    fromTick: z.number().int().min(0, "must be at least 0").nullish().transform((t) => t ?? 0),
    first: z.number().int().min(1, "must be at least 1").max(maxFirst, `must be at most ${maxFirst}`).nullish().transform((f) => f ?? defaultFirst),
  });

export const campaignHistoryArgs = campaignTicks(1_000, 100);
export type CampaignHistoryArgs = z.infer<typeof campaignHistoryArgs>;

export const leaderboardHistoryArgs = campaignTicks(1_000, 100).and(z.object({ civId: z.string().min(1).max(100).nullish().transform((c) => c ?? null) }));
export type LeaderboardHistoryArgs = z.infer<typeof leaderboardHistoryArgs>;

export const aiUsageArgs = apiOperationsArgs;
export type AiUsageArgs = ApiOperationsArgs;

export const aiSeriesArgs = bucketed.and(z.object({ kind: name, deployment: name }));
export type AiSeriesArgs = z.infer<typeof aiSeriesArgs>;
