import { DelayedError, Queue, type Job } from "bullmq";
import type { Logger, Redis } from "@startales/service-kit";
import type { DeferDeliveries } from "./delivery-runner";
import { requeueByJobId, rowJobOptions } from "./row-jobs";

export const DELIVERY_QUEUE = "notification-deliveries";

/**
 * What a queue entry carries: delivery ids only (the rows are the truth). One delivery (job id
 * = its id: the sweep and operators requeue one by id), or a batch of a send's or a request's
 * deliveries (job id `batch-<first id>`): a campaign's 10,000 pushes are 200 jobs, read and
 * marked a batch per statement, not 10,000 jobs of a read and a write each.
 */
export type DeliveryJob = { deliveryId: string } | { deliveryIds: string[] } | AccountMailJob;

/**
 * An account mail (identity's ACCOUNT_MAIL_REQUESTED): no delivery row, since nothing about it
 * is ours to keep; job id `mail-<event id>`, so the same event read twice while its job is
 * kept (DELIVERY queue's retention) is one mail.
 */
export type AccountMailJob = { accountMail: { mailId: string; kind: string; eventId: string } };

/** Deliveries per batch job. */
export const BATCH_SIZE = 50;

export const deliveryIdsOf = (data: DeliveryJob): string[] => ("accountMail" in data ? [] : "deliveryIds" in data ? data.deliveryIds : [data.deliveryId]);

/** The queue entries for new deliveries: one job per delivery alone, else a job per batch. */
export function deliveryJobs(deliveryIds: string[]): { name: string; data: DeliveryJob; opts: { jobId: string } }[] {
  if (deliveryIds.length === 1) return [{ name: "push", data: { deliveryId: deliveryIds[0]! }, opts: { jobId: deliveryIds[0]! } }];
  const jobs = [];
  for (let i = 0; i < deliveryIds.length; i += BATCH_SIZE) {
    const batch = deliveryIds.slice(i, i + BATCH_SIZE);
    jobs.push({ name: "push-batch", data: { deliveryIds: batch }, opts: { jobId: `batch-${batch[0]!}` } });
  }
  return jobs;
}

/** BullMQ keys live under NOTIFICATION_REDIS_PREFIX, so test stacks (and tenants) never share a queue. */
export const queuePrefix = (redisPrefix: string) => `${redisPrefix}bull`;

export type DeliveryQueue = {
  queue: Queue<DeliveryJob>;
  /**
   * Queues new deliveries, in batches (job ids from the deliveries' ids, so queuing the same
   * twice while it waits is a no-op). Never throws: what cannot be queued now stays PENDING
   * and the worker pool's sweep queues it.
   */
  enqueue(deliveryIds: string[]): Promise<void>;
  /**
   * Runs deliveries again whatever their job did: a failed job is retried with a new set of
   * attempts, a finished one replaced, a missing one added. Throws when Redis is unreachable.
   */
  requeue(deliveryIds: string[]): Promise<void>;
  /** Queues an account mail (idempotent by its event's id while its job is kept); throws when Redis is unreachable, so the event is read again. */
  enqueueAccountMail(job: AccountMailJob["accountMail"]): Promise<void>;
  /**
   * How the running `job` puts off deliveries until their recipient's quiet hours end: a job of
   * one delivery is itself delayed until then (no attempt spent); out of a batch, each gets a
   * delayed job of its own, id = the delivery's id — so the sweep, which requeues by that id,
   * finds it waiting and leaves it. One already waiting, delayed or running is left as is (it
   * checks quiet hours itself when it runs).
   */
  deferrer(job: Job<DeliveryJob>, token: string | undefined): DeferDeliveries;
  close(): Promise<void>;
};

export function createDeliveryQueue(redis: Redis, options: { redisPrefix: string; attempts: number; logger: Logger }): DeliveryQueue {
  const queue = new Queue<DeliveryJob>(DELIVERY_QUEUE, {
    connection: redis,
    prefix: queuePrefix(options.redisPrefix),
    defaultJobOptions: rowJobOptions(options.attempts, "delivery"),
  });
  return {
    queue,
    async enqueue(deliveryIds) {
      if (deliveryIds.length === 0) return;
      try {
        await queue.addBulk(deliveryJobs(deliveryIds));
      } catch (error) {
        options.logger.warn({ err: error, deliveries: deliveryIds.length }, "could not queue deliveries; the sweep will");
      }
    },
    requeue: (deliveryIds) => requeueByJobId(queue, deliveryIds, "push"),
    async enqueueAccountMail(mail) {
      await queue.add("account-mail", { accountMail: mail }, { jobId: `mail-${mail.eventId}` });
    },
    deferrer: (job, token) => async (deferred) => {
      if ("deliveryId" in job.data && deferred.has(job.data.deliveryId)) {
        await job.moveToDelayed(deferred.get(job.data.deliveryId)!.getTime(), token);
        // Tells the worker the job was moved, not finished.
        throw new DelayedError();
      }
      for (const [deliveryId, until] of deferred) {
        const existing = await queue.getJob(deliveryId);
        const state = existing ? await existing.getState() : "missing";
        if (existing && state !== "completed" && state !== "failed") continue;
        await existing?.remove();
        await queue.add("push", { deliveryId }, { jobId: deliveryId, delay: Math.max(0, until.getTime() - Date.now()) });
      }
    },
    close: () => queue.close(),
  };
}
