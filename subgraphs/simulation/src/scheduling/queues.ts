import { Queue, type ConnectionOptions } from "bullmq";

/** The tick queue: one job scheduler per RUNNING campaign, at its tick rate. */
export const TICK_QUEUE = "simulation-ticks";
/** Lifecycle jobs: bring a campaign's world and schedule in line with campaign's state. */
export const LIFECYCLE_QUEUE = "simulation-lifecycle";

export type TickJobData = { campaignId: string; targetTick?: number };
/** `traceparent`: the campaign event's trace context, which the job continues (docs/tracing.md). */
export type LifecycleJobData = { campaignId: string; eventId: string; type: string; traceparent?: string };

/** BullMQ job and scheduler ids must not contain ":" (it separates Redis key parts). */
export const tickSchedulerId = (campaignId: string) => `tick-${campaignId}`;
export const lifecycleJobId = (eventId: string) => `lifecycle-${eventId.replace(/:/g, "-")}`;

export type TickJobOptions = { attempts: number; backoffMs: number };

export type TickSchedule = {
  /** Creates or updates the campaign's repeatable tick job (idempotent). */
  start(campaignId: string, tickRateMs: number): Promise<void>;
  /** Removes it (idempotent); a tick already running finishes, later ones are not created. */
  stop(campaignId: string): Promise<void>;
  /** The schedule's interval, or null when the campaign has none. */
  every(campaignId: string): Promise<number | null>;
};

export function createTickSchedule(queue: Queue<TickJobData>, options: TickJobOptions): TickSchedule {
  return {
    async start(campaignId, tickRateMs) {
      await queue.upsertJobScheduler(
        tickSchedulerId(campaignId),
        { every: tickRateMs },
        {
          name: "tick",
          data: { campaignId },
          opts: {
            attempts: options.attempts,
            backoff: { type: "exponential", delay: options.backoffMs },
            removeOnComplete: { count: 100 },
            removeOnFail: { age: 7 * 24 * 3600 },
          },
        },
      );
    },
    async stop(campaignId) {
      await queue.removeJobScheduler(tickSchedulerId(campaignId));
    },
    async every(campaignId) {
      const scheduler = await queue.getJobScheduler(tickSchedulerId(campaignId));
      return scheduler?.every ? Number(scheduler.every) : null;
    },
  };
}

export const createQueues = (connection: ConnectionOptions, prefix: string) => ({
  ticks: new Queue<TickJobData>(TICK_QUEUE, { connection, prefix }),
  lifecycle: new Queue<LifecycleJobData>(LIFECYCLE_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: { attempts: 10, backoff: { type: "exponential", delay: 500 }, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
  }),
});
