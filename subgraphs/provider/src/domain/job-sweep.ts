import { periodicTask, type Logger } from "@startales/service-kit";
import type { Queue } from "bullmq";
import type { Db } from "../db";
import type { QueueData } from "../queue";

/**
 * Queues again the unfinished jobs (QUEUED, or RUNNING since before `staleMs`) that have been
 * in PostgreSQL longer than `staleMs` and whose BullMQ job is gone: Redis lost its data (a
 * restart without persistence, a failover), or the subgraph died between its commit and its
 * enqueue. Without this such a job stays QUEUED forever. The job id is the row's id, so
 * adding one the queue still holds is a no-op, and a job whose BullMQ job failed or
 * completed while its row is unfinished (the outcome could not be written) gets a new set of
 * attempts. Running a job again never bills twice (the runner's `billed_at IS NULL` update).
 * Oldest first, `batchSize` rows per query, keyset-paged so a long backlog starves nothing.
 */
export function createJobSweep(deps: { db: Db; queue: Queue<QueueData>; staleMs: number; everyMs: number; batchSize: number; logger: Logger; onRequeued?: (count: number) => void }) {
  const { db, queue, batchSize, logger } = deps;

  /** Queues one job again if its BullMQ job is missing or finished; true when it did. */
  async function requeue(id: string): Promise<boolean> {
    const state = await queue.getJobState(id);
    if (state === "unknown") {
      await queue.add("run", { jobId: id }, { jobId: id });
      return true;
    }
    if (state === "failed" || state === "completed") {
      const job = await queue.getJob(id);
      await job?.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    }
    // Waiting, delayed (a retry's backoff), active or prioritized: it will run.
    return false;
  }

  /** One sweep; resolves to how many jobs it queued again. */
  async function sweep(): Promise<number> {
    const cutoff = new Date(Date.now() - deps.staleMs);
    let requeued = 0;
    let after: { createdAt: Date; id: string } | undefined;
    for (;;) {
      const page = await db.providerJob.findMany({
        where: {
          createdAt: { lt: cutoff },
          AND: [
            // A RUNNING job started recently is most likely running right now (its BullMQ job
            // may be gone with Redis while the worker is still at the vendor): left alone a while.
            { OR: [{ status: "QUEUED" }, { status: "RUNNING", OR: [{ startedAt: null }, { startedAt: { lt: cutoff } }] }] },
            ...(after ? [{ OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }] }] : []),
          ],
        },
        orderBy: [{ createdAt: "asc" }, { id: "asc" }],
        take: batchSize,
        select: { id: true, createdAt: true },
      });
      for (const row of page) if (await requeue(row.id)) requeued++;
      if (page.length < batchSize) break;
      const last = page[page.length - 1]!;
      after = { createdAt: last.createdAt, id: last.id };
    }
    if (requeued > 0) {
      deps.onRequeued?.(requeued);
      logger.warn({ requeued }, "queued again unfinished jobs whose queue entry was gone");
    }
    return requeued;
  }

  const task = periodicTask(sweep, { everyMs: deps.everyMs, logger, failure: "job sweep failed; trying again at the next one" });
  return {
    sweep,
    /** Sweeps now, then every `everyMs` (one at a time). */
    start: task.start,
    stop: task.stop,
  };
}
