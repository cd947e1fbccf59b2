import type { Job } from "bullmq";

/**
 * Notification's queues hold jobs that each stand for rows in PostgreSQL: a push or mail
 * delivery, an outgoing webhook delivery. The row is the truth, so a finished job is only
 * bookkeeping (kept an hour); a failed one stays a week for operators to inspect and retry.
 * The retry delay is the runner's, returned by the worker's backoff strategy `backoffType`.
 */
export const rowJobOptions = (attempts: number, backoffType: string) => ({
  attempts,
  backoff: { type: backoffType },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: { age: 7 * 86_400 },
});

/** What requeueByJobId needs of a queue whose jobs carry `{ deliveryId }`. */
type RowQueue = {
  getJob(id: string): Promise<Job | undefined>;
  add(name: string, data: { deliveryId: string }, opts: { jobId: string }): Promise<unknown>;
};

/**
 * Runs rows' jobs (job id and `deliveryId` = the row's id) again whatever their job did: a
 * failed job is retried with a new set of attempts; one waiting, delayed or running is left
 * to run; a finished or missing one is added anew. Fifty at a time. Throws when Redis is
 * unreachable.
 */
export async function requeueByJobId(queue: RowQueue, ids: string[], name: string): Promise<void> {
  const requeueOne = async (id: string) => {
    const job = await queue.getJob(id);
    const state = job ? await job.getState() : "missing";
    if (job && state === "failed") return job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    if (job && state !== "completed") return;
    // Completed: its id must be free for the new job.
    await job?.remove();
    await queue.add(name, { deliveryId: id }, { jobId: id });
  };
  for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map(requeueOne));
}
