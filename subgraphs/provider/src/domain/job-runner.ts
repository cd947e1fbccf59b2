import { createGroupCommit, ErrorCode, type Logger, type Redis } from "@startales/service-kit";
import type { CachedResult, CacheLayer, ResponseCache } from "../cache/response-cache";
import type { Db } from "../db";
import { NoDeploymentSucceeded } from "../drivers/provider-error";
import type { ProviderJob } from "../generated/prisma/client";
import type { Router } from "../routing/router";
import { ContentRefused, ContentUnavailable, type ContentClient, type StoredMedia } from "./content-client";
import type { ContentStore } from "./content-store";
import { costMicros } from "./cost";
import type { JobEvents } from "./job-events";
import { claimJobs, recordSuccesses } from "./job-rows";
import { jobFinishedEvent, recordJobFinished } from "./job-usage";
import { capOutput } from "./prompt";
import type { ProviderRequest } from "./requests";

/** Try again later (BullMQ's backoff honours `retryAfterMs`). */
export class RetryLater extends Error {
  constructor(message: string, readonly retryAfterMs: number | null) {
    super(message);
    this.name = "RetryLater";
  }
}

export type RunnerHooks = {
  onCache?: (kind: string, outcome: CacheLayer | "miss" | "bypass") => void;
  onFinished?: (kind: string, status: "SUCCEEDED" | "FAILED", cached: boolean) => void;
};

export type JobRunnerDeps = {
  db: Db;
  redis: Redis;
  router: Router;
  cache: ResponseCache;
  /** The provider's own store: the audio uploaded to be transcribed, and what it generated before content existed. */
  content: ContentStore;
  /** The content subgraph, where generated audio and images are stored and served from. */
  media: Pick<ContentClient, "put" | "has">;
  events: JobEvents;
  prefix: string;
  maxOutputChars: number;
  logger: Logger;
  hooks?: RunnerHooks;
};

/**
 * Runs one job (the worker's processor). Safe to run again for the same job (a retry, a
 * stalled job taken over by another worker): a finished job is left alone, and the result
 * and its usage are written by one conditional update (`billed_at IS NULL`), so a job is
 * billed once however often it runs.
 */
export function createJobRunner(deps: JobRunnerDeps) {
  const { db, logger, hooks = {} } = deps;
  // The worker's concurrent jobs share their claim and their result statements.
  const claim = createGroupCommit((ids: string[]) => claimJobs(db, ids));
  const recordSuccess = createGroupCommit((results: Parameters<typeof recordSuccesses>[1]) => recordSuccesses(db, results));

  /** Records the result and its usage (and the usage record for analytics), once. False when another run already did. */
  async function finish(job: ProviderJob, result: CachedResult, usage: { promptTokens: number; completionTokens: number; costMicros: number }, cached: boolean, failovers = 0): Promise<boolean> {
    const record = jobFinishedEvent(job, { status: "SUCCEEDED", deployment: result.deployment, model: result.model, cached, failovers, ...usage, errorCode: null });
    const billed = await recordSuccess({
      id: job.id,
      resultText: result.text,
      contentSha: result.contentSha,
      contentType: result.contentType,
      deployment: result.deployment,
      model: result.model,
      ...usage,
      cached,
      usage: record,
    });
    if (!billed) logger.info({ jobId: job.id }, "job already finished by another run; nothing billed");
    else hooks.onFinished?.(job.kind, "SUCCEEDED", cached);
    return billed;
  }

  async function fail(job: ProviderJob, code: string, message: string, failovers = 0): Promise<void> {
    const record = jobFinishedEvent(job, { status: "FAILED", deployment: null, model: null, cached: false, failovers, promptTokens: 0, completionTokens: 0, costMicros: 0, errorCode: code });
    await db.$transaction(async (tx) => {
      const { count } = await tx.providerJob.updateMany({
        where: { id: job.id, billedAt: null },
        data: { status: "FAILED", errorCode: code, error: message, finishedAt: new Date(), billedAt: new Date() },
      });
      // Recorded with the failure, so once however often the job is failed.
      if (count === 1) await recordJobFinished(tx, record);
    });
    hooks.onFinished?.(job.kind, "FAILED", false);
  }

  const stored = async (sha256: string) => (await deps.media.has(sha256)) || (await deps.content.exists(sha256));

  async function fromCache(job: ProviderJob, request: ProviderRequest): Promise<CachedResult | null> {
    if (job.bypassCache) {
      hooks.onCache?.(job.kind, "bypass");
      return null;
    }
    const hit = await deps.cache.get(request.kind, job.requestHash);
    // The bytes are looked up too: a cache entry must never point at bytes no one serves
    // (content's, or this database's from before content).
    if (hit && (!hit.result.contentSha || (await stored(hit.result.contentSha)))) {
      hooks.onCache?.(job.kind, hit.layer);
      return hit.result;
    }
    hooks.onCache?.(job.kind, "miss");
    return null;
  }

  return {
    async run(jobId: string, attempt: { made: number; max: number }): Promise<void> {
      const job = await claim(jobId);
      if (!job) {
        // Finished already (a retry, a stalled job run twice) or, rarely, no row at all.
        if (!(await db.providerJob.count({ where: { id: jobId } }))) logger.warn({ jobId }, "queued job has no row; dropped");
        return;
      }
      const request = job.input as unknown as ProviderRequest;

      const cached = await fromCache(job, request);
      if (cached) {
        await finish(job, cached, { promptTokens: 0, completionTokens: 0, costMicros: 0 }, true);
        if (job.stream) {
          await deps.events.chunk({ jobId: job.id, attempt: 1, index: 0, text: cached.text ?? "", done: false });
          await deps.events.chunk({ jobId: job.id, attempt: 1, index: 1, text: "", done: true });
        }
        return;
      }

      let streamAttempt = 0;
      let index = 0;
      const attemptKey = `${deps.prefix}stream-attempt:${job.id}`;
      const onChunk = job.stream
        ? async (text: string) => deps.events.chunk({ jobId: job.id, attempt: streamAttempt, index: index++, text, done: false })
        : undefined;
      const onTry = job.stream
        ? async () => {
            // Numbered across retries and workers: a new attempt tells clients to start over.
            streamAttempt = await deps.redis.incr(attemptKey);
            await deps.redis.expire(attemptKey, 86_400);
            index = 0;
          }
        : undefined;
      const audio = request.kind === "TRANSCRIPTION" ? (await deps.content.get(request.audioSha))?.bytes : undefined;
      const lastAttempt = attempt.made + 1 >= attempt.max;

      let routed;
      try {
        routed = await deps.router.run(request, { signal: new AbortController().signal, onChunk, onTry, audio });
      } catch (error) {
        const endStream = () => (job.stream ? deps.events.chunk({ jobId: job.id, attempt: streamAttempt, index, text: "", done: true }) : undefined);
        if (error instanceof NoDeploymentSucceeded) {
          if (error.retryable && !lastAttempt) {
            await db.providerJob.updateMany({ where: { id: job.id, billedAt: null }, data: { status: "QUEUED", error: "retrying: " + error.message } });
            throw new RetryLater(error.message, error.retryAfterMs);
          }
          const limitedOnly = error.failures.length > 0 && error.failures.every((f) => f.kind === "limited" || f.kind === "rate_limited");
          await fail(job, limitedOnly ? ErrorCode.RATE_LIMITED : ErrorCode.SERVICE_UNAVAILABLE, error.message, error.failures.length);
          await endStream();
          return;
        }
        logger.error({ err: error, jobId: job.id }, "job failed unexpectedly");
        if (lastAttempt) {
          await fail(job, ErrorCode.INTERNAL_SERVER_ERROR, "The job failed unexpectedly");
          await endStream();
          return;
        }
        throw error;
      }

      const { deployment, result, tries } = routed;
      const failovers = Math.max(0, tries - 1);
      // Generated bytes are stored in content, and the job succeeds only once they are: when
      // content cannot take them now, the job is retried (the engine runs again: nothing was
      // billed yet); when it refuses them, retrying would not help.
      let media: StoredMedia | null = null;
      if (result.bytes) {
        try {
          media = await deps.media.put(result.bytes, result.contentType ?? "application/octet-stream");
        } catch (error) {
          if (error instanceof ContentUnavailable) {
            if (!lastAttempt) {
              await db.providerJob.updateMany({ where: { id: job.id, billedAt: null }, data: { status: "QUEUED", error: `retrying: the result could not be stored (${error.message})` } });
              throw new RetryLater(error.message, error.retryAfterMs);
            }
            await fail(job, ErrorCode.SERVICE_UNAVAILABLE, "The result could not be stored: content is unavailable", failovers);
            return;
          }
          if (error instanceof ContentRefused) {
            await fail(job, ErrorCode.INTERNAL_SERVER_ERROR, `The result could not be stored: content refused it (${error.reason ?? error.code ?? error.status})`, failovers);
            return;
          }
          throw error;
        }
      }
      const outcome: CachedResult = {
        text: result.text === null ? null : capOutput(result.text, deps.maxOutputChars),
        contentSha: media?.sha256 ?? null,
        contentType: media?.mediaType ?? null,
        deployment: deployment.name,
        model: result.model,
      };
      const billed = await finish(job, outcome, { ...result.usage, costMicros: costMicros(deployment, result.usage) }, false, failovers);
      if (billed) await deps.cache.set(request.kind, job.requestHash, outcome);
      if (job.stream) await deps.events.chunk({ jobId: job.id, attempt: streamAttempt, index, text: "", done: true });
    },
  };
}

export type JobRunner = ReturnType<typeof createJobRunner>;
