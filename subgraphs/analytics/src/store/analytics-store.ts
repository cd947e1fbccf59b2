import type { ReadinessCheck } from "@startales/service-kit";
import type { EventRow } from "../ingest/event-rows";

/** A UTC day, `2026-12-07`. */
export type Day = string;

/** The days from `from` to `to`, both included. */
export type DayRange = { from: Day; to: Day };

export type Bucket = "MINUTE" | "HOUR" | "DAY";

export type EventCount = { at: Date; producer: string; type: string; count: number };

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

export type CohortRow = { day: Day; users: number; day1: number; day7: number; day30: number };

export type ChatRow = { userId: string; messages: number; activeDays: number };

export type PlayerStatsRow = { activeDays: number; events: number; messages: number; commands: number; sessionMs: number };

/** The sessions that ended on a day, and a histogram of their lengths (SESSION_BUCKETS_MS, then longer). */
export type SessionDay = { day: Day; sessions: number; durationMs: number; buckets: number[] };

export type CommandRow = { userId: string; commands: number; activeDays: number };

/** Of the users who signed up in a range: how many went how far. */
export type FunnelRow = { registered: number; joined: number; commanded: number; reachedDay7: number; activeAfterDay7: number };

/** An operation's figures over a range: requests, errors and its latency histogram (OPERATION_LATENCY_BUCKETS_MS, then longer). */
export type ApiOperationTotals = { operation: string; clientName: string; clientVersion: string; requests: number; errors: number; durationMsSum: number; buckets: number[] };

export type ApiErrorTotals = { operation: string; clientName: string; clientVersion: string; code: string; count: number };

export type ApiPoint = { at: Date; requests: number; errors: number; buckets: number[] };

export type DeprecatedUseCount = { at: Date; field: string; clientName: string; clientVersion: string; count: number };

/** A campaign's economy after a recorded tick (TICK_STATS). */
export type EconomyTick = {
  tick: number;
  recordedAt: Date;
  population: number;
  credits: number;
  ships: number;
  battles: number;
  tradeVolume: number;
  meanStability: number;
  prices: Record<string, number>;
};

/** A civilization's standing after a recorded tick. */
export type CivilizationTick = {
  tick: number;
  civId: string;
  playerId: string | null;
  population: number;
  credits: number;
  score: number;
  stability: number;
  ships: number;
  /** Units of goods its cities produced in the tick; null in records made before output was recorded. */
  output: number | null;
  eliminated: boolean;
  /** Its player's commands decided since the previous recorded tick. */
  commands: number;
};

/** AI use over a range, per kind, deployment and model ('' where none): counts, tokens, cost and the run-time histogram (AI_LATENCY_BUCKETS_MS, then longer). */
export type AiUsageTotals = {
  kind: string;
  deployment: string;
  model: string;
  requests: number;
  failures: number;
  cacheHits: number;
  failovers: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  buckets: number[];
};

export type CampaignAiUsage = { campaignId: string; requests: number; tokens: number; costMicros: number };

/** AI use in one bucket: jobs, failures, cache hits, tokens (prompt and completion), cost and the run-time histogram (AI_LATENCY_BUCKETS_MS, then longer). */
export type AiPoint = { at: Date; requests: number; failures: number; cacheHits: number; tokens: number; costMicros: number; buckets: number[] };

/** What analytics holds about one user: raw events that name them, and rollup rows under their id. */
export type UserFootprint = { rawEvents: number; activityDays: number; chatDays: number; commandDays: number; sessionDays: number; cohort: boolean; civilizationTicks: number };

/**
 * Where analytics keeps events and their rollups: one interface, one engine per cluster
 * (ANALYTICS_STORE). The ingest writes through it, the subgraph reads through it; what a
 * query means (ranges, buckets, nulls) is decided above it, in the domain, once for both
 * engines, and one contract suite runs on each.
 */
export interface AnalyticsStore {
  readonly engine: "postgres" | "clickhouse";

  /**
   * Keeps a batch of events and folds the new ones into every rollup; an event already kept
   * (a redelivery) counts nowhere again. Returns the ids that were new.
   */
  writeEvents(rows: EventRow[]): Promise<string[]>;

  /** Drops the raw events of the days past the retention (rollups stay), and readies the coming days. */
  sweep(): Promise<{ dropped: string[] }>;

  /** Distinct users active in the `windowDays` days ending on each day of the range. */
  activeUsers(range: DayRange, windowDays: number): Promise<{ day: Day; users: number }[]>;

  /** Events per bucket in [from, to), by producer, type and bucket start, ordered so; only buckets with events. */
  eventCounts(query: { from: Date; to: Date; bucket: Bucket; producer: string | null; type: string | null }): Promise<EventCount[]>;

  /** Each sign-up day of the range that has sign-ups: its users, and of them those active 1, 7 and 30 days after. */
  cohorts(range: DayRange): Promise<CohortRow[]>;

  tickHistory(query: { campaignId: string; fromTick: number; first: number }): Promise<TickRow[]>;

  /** The players with the most messages in the range (optionally in one campaign), most first. */
  chatActivity(query: { range: DayRange; campaignId: string | null; first: number }): Promise<ChatRow[]>;

  playerStats(userId: string, range: DayRange): Promise<PlayerStatsRow>;

  /** Each day of the range on which sessions ended, in order. */
  sessionLengths(range: DayRange): Promise<SessionDay[]>;

  /** The players with the most commands decided in the range (optionally in one campaign), most first. */
  commandActivity(query: { range: DayRange; campaignId: string | null; first: number }): Promise<CommandRow[]>;

  /**
   * Of the users who signed up in the range: those who joined a campaign, who had a command
   * decided, whose 7th day after sign-up had begun by `today`, and of them those active on it
   * or later.
   */
  funnel(range: DayRange, today: Day): Promise<FunnelRow>;

  /** A campaign's recorded ticks from `fromTick`, in order, at most `first`. */
  economyHistory(query: { campaignId: string; fromTick: number; first: number }): Promise<EconomyTick[]>;

  /**
   * Every civilization's standing at the campaign's first `first` recorded ticks from
   * `fromTick`: by tick, then score (highest first), then civilization.
   */
  civilizationHistory(query: { campaignId: string; fromTick: number; first: number }): Promise<CivilizationTick[]>;

  /** AI use in [from, to) per kind, deployment and model, the most requested first, at most `first`. */
  aiUsage(query: { from: Date; to: Date; first: number }): Promise<AiUsageTotals[]>;

  /** AI use in [from, to) per campaign (jobs without one left out), the costliest first, at most `first`. */
  aiUsageByCampaign(query: { from: Date; to: Date; first: number }): Promise<CampaignAiUsage[]>;

  /** AI use per bucket in [from, to), optionally of one kind or deployment: only buckets with jobs, in order. */
  aiSeries(query: { from: Date; to: Date; bucket: Bucket; kind: string | null; deployment: string | null }): Promise<AiPoint[]>;

  /** Per operation, client and version in [from, to): the most requested first, at most `first`. */
  apiOperations(query: { from: Date; to: Date; first: number }): Promise<ApiOperationTotals[]>;

  /** Per operation, client, version and error code in [from, to). */
  apiErrors(query: { from: Date; to: Date }): Promise<ApiErrorTotals[]>;

  /** Requests, errors and latency per bucket in [from, to), optionally of one operation or client; only buckets with requests, in order. */
  apiSeries(query: { from: Date; to: Date; bucket: Bucket; operation: string | null; clientName: string | null }): Promise<ApiPoint[]>;

  /** Uses of deprecated schema elements per bucket, by element, client and version, ordered so, then by bucket. */
  deprecatedUsage(query: { from: Date; to: Date; bucket: Bucket }): Promise<DeprecatedUseCount[]>;

  footprint(userId: string): Promise<UserFootprint>;

  /**
   * Erases a user: the raw events that name them are deleted, and their rollup rows move to a
   * fresh random id nothing links back to them (so every total and active-user count stays
   * true). Returns what it held before.
   */
  forgetUser(userId: string): Promise<UserFootprint>;

  /**
   * Which of these users were forgotten (forgetUser keeps a SHA-256 of each id it erased,
   * nothing else): the ingest keeps their later events without naming them.
   */
  forgottenAmong(userIds: readonly string[]): Promise<Set<string>>;

  readiness: ReadinessCheck;
  close(): Promise<void>;
}
