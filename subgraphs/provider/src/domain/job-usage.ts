import { Topics, eventData, type EventData } from "@startales/service-kit";
import type { Prisma, ProviderJob } from "../generated/prisma/client";

/** What finished, beside the job's row. */
export type Finished = {
  status: "SUCCEEDED" | "FAILED";
  deployment: string | null;
  model: string | null;
  cached: boolean;
  failovers: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  errorCode: string | null;
};

/**
 * A finished job's usage record for analytics (JOB_FINISHED on `ai:provider`), checked
 * against its contract: no prompt, no answer, no owner (the campaign is the finest grain
 * analytics keeps of AI use).
 */
export function jobFinishedEvent(job: Pick<ProviderJob, "id" | "kind" | "campaignId" | "attempts" | "createdAt" | "startedAt">, finished: Finished, at = new Date()) {
  const started = job.startedAt ?? at;
  const data: EventData<"JOB_FINISHED"> = {
    jobId: job.id,
    kind: job.kind,
    campaignId: job.campaignId,
    ...finished,
    attempts: job.attempts,
    waitMs: Math.max(0, started.getTime() - job.createdAt.getTime()),
    runMs: Math.max(0, at.getTime() - started.getTime()),
  };
  return { topic: Topics.ai, type: "JOB_FINISHED" as const, aggregateId: job.id, version: 1, data: eventData(Topics.ai, "JOB_FINISHED", data) };
}

export type JobFinishedEvent = ReturnType<typeof jobFinishedEvent>;

/** Writes a usage record in the caller's transaction (a failure's; successes are recorded by the statement that bills them, job-rows.ts). */
export const recordJobFinished = (tx: Prisma.TransactionClient, record: JobFinishedEvent) => tx.outboxEvent.create({ data: record });
