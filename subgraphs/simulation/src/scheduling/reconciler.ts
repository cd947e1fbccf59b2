import { periodicTask, type Logger } from "@startales/service-kit";
import type { Queue } from "bullmq";
import type { Db } from "../db";
import { ensureTickSchedule } from "../domain/lifecycle";
import type { LifecycleInbox } from "../domain/lifecycle-inbox";
import { lifecycleJobId, tickSchedulerId, type LifecycleJobData, type TickJobData, type TickSchedule } from "./queues";

export type ReconcileReport = { schedulesAdded: number; schedulesRemoved: number; lifecycleRequeued: number; inboxPurged: number };

const SCHEDULER_PREFIX = tickSchedulerId("");

/**
 * Makes Redis agree with PostgreSQL again, at start and every `everyMs`: PostgreSQL is the
 * truth, and Redis may lose its data (a restart without persistence, a failover to an empty
 * replica) while every process stays up and ready. Tick schedules exist only in Redis and
 * are otherwise rebuilt only by a lifecycle event, so a campaign would stop ticking for good
 * (and its commands stay PENDING); lifecycle jobs queued but not yet run (a world to
 * generate) would be lost. Each pass:
 * - compares the RUNNING worlds with the tick schedulers and repairs each difference under
 *   the campaign's lock (ensureTickSchedule): a missing one added, a left-over one removed,
 *   none duplicated (a scheduler has the campaign's id);
 * - queues again the lifecycle jobs of events in the inbox not yet done whose job is gone (or
 *   failed, or finished without marking the event: it runs once more, idempotently);
 * - deletes old done inbox rows.
 * Every replica runs it; the repairs are idempotent, so passes at once do no harm.
 */
export function createReconciler(deps: {
  db: Db;
  ticks: Queue<TickJobData>;
  lifecycle: Queue<LifecycleJobData>;
  schedule: TickSchedule;
  inbox: LifecycleInbox;
  logger: Logger;
  everyMs: number;
  batchSize: number;
  onRepair?: (kind: "schedule_added" | "schedule_removed" | "lifecycle_requeued") => void;
}) {
  const { db, logger, batchSize } = deps;

  async function runningWorlds(): Promise<Map<string, number>> {
    const worlds = new Map<string, number>();
    let after: string | undefined;
    for (;;) {
      const page = await db.world.findMany({
        where: { status: "RUNNING", ...(after ? { campaignId: { gt: after } } : {}) },
        orderBy: { campaignId: "asc" },
        take: batchSize,
        select: { campaignId: true, tickRateMs: true },
      });
      for (const w of page) worlds.set(w.campaignId, w.tickRateMs);
      if (page.length < batchSize) return worlds;
      after = page[page.length - 1]!.campaignId;
    }
  }

  async function schedulers(): Promise<Map<string, number | null>> {
    const found = new Map<string, number | null>();
    for (let start = 0; ; start += batchSize) {
      const page = await deps.ticks.getJobSchedulers(start, start + batchSize - 1, true);
      for (const s of page) if (s.key.startsWith(SCHEDULER_PREFIX)) found.set(s.key.slice(SCHEDULER_PREFIX.length), s.every ? Number(s.every) : null);
      if (page.length < batchSize) return found;
    }
  }

  async function reconcileSchedules(report: ReconcileReport): Promise<void> {
    const scheduled = await schedulers();
    const worlds = await runningWorlds();
    const suspects = new Set<string>();
    for (const [campaignId, tickRateMs] of worlds) if (scheduled.get(campaignId) !== tickRateMs) suspects.add(campaignId);
    for (const campaignId of scheduled.keys()) if (!worlds.has(campaignId)) suspects.add(campaignId);
    // Each difference is decided again under the campaign's lock: a lifecycle job may have
    // changed the world or its schedule between (or during) the two reads above.
    for (const campaignId of suspects) {
      const outcome = await ensureTickSchedule(deps, campaignId);
      if (outcome === "added") {
        report.schedulesAdded++;
        deps.onRepair?.("schedule_added");
      } else if (outcome === "removed") {
        report.schedulesRemoved++;
        deps.onRepair?.("schedule_removed");
      }
    }
  }

  async function requeueLifecycle(report: ReconcileReport): Promise<void> {
    let after: { receivedAt: Date; eventId: string } | undefined;
    for (;;) {
      const page = await deps.inbox.pending(batchSize, after);
      for (const event of page) {
        const jobId = lifecycleJobId(event.eventId);
        const state = await deps.lifecycle.getJobState(jobId);
        // Waiting, delayed, active or prioritized: it will run.
        if (state === "unknown") {
          await deps.lifecycle.add("reconcile", { campaignId: event.campaignId, eventId: event.eventId, type: event.type }, { jobId });
        } else if (state === "failed" || state === "completed") {
          const job = await deps.lifecycle.getJob(jobId);
          await job?.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
        } else continue;
        report.lifecycleRequeued++;
        deps.onRepair?.("lifecycle_requeued");
      }
      if (page.length < batchSize) return;
      const last = page[page.length - 1]!;
      after = { receivedAt: last.receivedAt, eventId: last.eventId };
    }
  }

  async function reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = { schedulesAdded: 0, schedulesRemoved: 0, lifecycleRequeued: 0, inboxPurged: 0 };
    await reconcileSchedules(report);
    await requeueLifecycle(report);
    report.inboxPurged = await deps.inbox.purge(5_000);
    if (report.schedulesAdded + report.schedulesRemoved + report.lifecycleRequeued > 0) logger.warn(report, "Redis disagreed with PostgreSQL; repaired");
    return report;
  }

  const task = periodicTask(reconcile, { everyMs: deps.everyMs, logger, failure: "reconciliation failed; trying again at the next one" });
  return {
    /** One pass now (tests; it also runs at start and every `everyMs`). */
    reconcile,
    start: task.start,
    stop: task.stop,
  };
}
