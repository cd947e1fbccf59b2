import type { EventData } from "@startales/service-kit";
import { histogramOf } from "../domain/histogram";
import type { EventRow } from "./event-rows";

/** The upper bounds (ms) of the AI latency histogram: vendor calls take seconds, not the API's milliseconds. One more bucket counts what took longer. */
export const AI_LATENCY_BUCKETS_MS = [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000] as const;

/** One finished job, as the AI usage rollup takes it (per minute, kind, deployment, model and campaign). */
export type AiUsageRow = {
  eventId: string;
  minute: string;
  kind: string;
  /** '' where none: a failure, or a cache hit of unknown origin; '' for no campaign. */
  deployment: string;
  model: string;
  campaign: string;
  requests: number;
  failures: number;
  cacheHits: number;
  failovers: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  /** The job's run (from its first run to its result) in its latency bucket. */
  buckets: number[];
};

type JobFinished = EventData<"JOB_FINISHED">;

/** Provider's JOB_FINISHED events of a batch, as AI usage rows, each tagged with its event. */
export function aiUsageRows(rows: EventRow[]): AiUsageRow[] {
  const usage: AiUsageRow[] = [];
  for (const row of rows) {
    if (row.type !== "JOB_FINISHED" || row.family !== "ai") continue;
    const job = row.data as JobFinished;
    const buckets = histogramOf(AI_LATENCY_BUCKETS_MS, job.runMs);
    usage.push({
      eventId: row.id,
      minute: new Date(Math.floor(Date.parse(row.occurredAt) / 60_000) * 60_000).toISOString(),
      kind: job.kind,
      deployment: job.deployment ?? "",
      model: job.model ?? "",
      campaign: job.campaignId ?? "",
      requests: 1,
      failures: job.status === "FAILED" ? 1 : 0,
      cacheHits: job.cached ? 1 : 0,
      failovers: job.failovers,
      promptTokens: job.promptTokens,
      completionTokens: job.completionTokens,
      costMicros: job.costMicros,
      buckets,
    });
  }
  return usage;
}
