import { addCounter, addHistogram, addScrapedGauge, readOnScrape, type Logger, type Metrics } from "@startales/service-kit";
import type { Db } from "./db";
import type { DecidedCommands } from "./domain/tick-runner";
import { REJECTION_CODES, type RejectionCode } from "./engine";

/** What the lag of a tick job is computed from (a BullMQ Job's own fields). */
export type TimedJob = { timestamp: number; delay?: number; processedOn?: number; attemptsMade: number; repeatJobKey?: string };

type ScheduleState = { running: number; behind: number; maxLagSeconds: number };

/**
 * The tick series of the simulation worker pool. None has a campaign label: one series per
 * campaign would grow without bound, so lateness is a histogram over every tick plus the
 * worst campaign right now.
 *
 * - `simulation_tick_duration_seconds`: an applied tick, from its job's start to its commit.
 * - `simulation_tick_lag_seconds`: how long after its schedule made it due a tick job started
 *   (first attempts of scheduled ticks; a retry is late by its backoff, on purpose).
 * - `simulation_commands_total{outcome,reason}`: commands decided by committed ticks; reason
 *   is the engine's rejection code (`none` when applied); every pair exists from the start.
 * - from the worlds table when scraped (every replica reports the same; aggregate with max):
 *   `simulation_campaigns_running`; `simulation_tick_lag_max_seconds`, how long past its next
 *   tick's due time (its last tick's start plus its tick rate) the most overdue RUNNING world
 *   is, 0 when none is; `simulation_campaigns_behind_schedule`, RUNNING worlds that have missed
 *   at least one whole tick.
 */
export function createTickMetrics(metrics: Metrics, deps: { db: Db; logger?: Logger }) {
  const duration = addHistogram(metrics, {
    name: "simulation_tick_duration_seconds",
    help: "How long an applied tick took, from its job's start to its commit",
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const lag = addHistogram(metrics, {
    name: "simulation_tick_lag_seconds",
    help: "How long after it was due a scheduled tick job started (first attempts)",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  });
  const commands = addCounter(metrics, {
    name: "simulation_commands_total",
    help: "Commands decided by committed ticks, by outcome (applied, rejected) and rejection reason (none when applied)",
    labelNames: ["outcome", "reason"] as const,
  });
  // Every pair at 0 from the start: a rate over a series that appears with its first command misses it.
  commands.inc({ outcome: "applied", reason: "none" }, 0);
  for (const reason of REJECTION_CODES) commands.inc({ outcome: "rejected", reason }, 0);

  const schedule = readOnScrape(() => scheduleState(deps.db), { cacheMs: 5_000, timeoutMs: 2_000, logger: deps.logger, what: "running worlds" });
  const fromSchedule = (pick: (state: ScheduleState) => number) => async () => {
    const state = await schedule();
    return state && [{ labels: {}, value: pick(state) }];
  };
  addScrapedGauge(metrics, { name: "simulation_campaigns_running", help: "Worlds whose status is RUNNING", samples: fromSchedule((s) => s.running) });
  addScrapedGauge(metrics, {
    name: "simulation_campaigns_behind_schedule",
    help: "RUNNING worlds that have missed at least one whole tick (no tick started for more than two tick intervals)",
    samples: fromSchedule((s) => s.behind),
  });
  addScrapedGauge(metrics, {
    name: "simulation_tick_lag_max_seconds",
    help: "How long past its next tick's due time the most overdue RUNNING world is (0 when every world is on time)",
    samples: fromSchedule((s) => s.maxLagSeconds),
  });

  return {
    /** A tick job began: observes its lag when it is the first attempt of a scheduled tick. */
    started(job: TimedJob, now = Date.now()): void {
      if (!job.repeatJobKey || job.attemptsMade > 0) return;
      const due = job.timestamp + (job.delay ?? 0);
      lag.observe(Math.max(0, (job.processedOn ?? now) - due) / 1000);
    },
    /** A tick committed: its duration and its commands' outcomes. */
    applied(decided: DecidedCommands, seconds: number): void {
      duration.observe(seconds);
      commands.inc({ outcome: "applied", reason: "none" }, decided.applied);
      for (const [reason, count] of Object.entries(decided.rejected) as [RejectionCode, number][]) commands.inc({ outcome: "rejected", reason }, count);
    },
  };
}

export type TickMetrics = ReturnType<typeof createTickMetrics>;

/**
 * A world's last tick started at its `updated_at` (the tick's transaction sets it to its
 * start; a lifecycle change of status or tick rate sets it too), so its next tick is due a
 * tick interval later.
 */
async function scheduleState(db: Db): Promise<ScheduleState> {
  const [row] = await db.$queryRaw<{ running: number; behind: number; max_lag: number }[]>`
    SELECT count(*)::int AS running,
           (count(*) FILTER (WHERE now() - updated_at > 2 * tick_rate_ms * interval '1 millisecond'))::int AS behind,
           coalesce(max(greatest(0, extract(epoch FROM now() - updated_at) - tick_rate_ms / 1000.0)), 0)::float8 AS max_lag
    FROM worlds WHERE status = 'RUNNING'`;
  return { running: row?.running ?? 0, behind: row?.behind ?? 0, maxLagSeconds: row?.max_lag ?? 0 };
}
