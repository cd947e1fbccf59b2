import { randomUUID } from "node:crypto";
import { Topics } from "@startales/service-kit";
import type { Db } from "../db";
import { Prisma, type ProviderJob } from "../generated/prisma/client";
import type { Spent } from "./budget";
import type { JobKind } from "./deployments";
import type { JobFinishedEvent } from "./job-usage";
import { requestHash, type ProviderRequest } from "./requests";

/** A job as a caller asks for it: what its row is made from. */
export type NewJob = {
  kind: JobKind;
  idempotencyKey: string;
  campaignId: string | null;
  bypassCache: boolean;
  stream: boolean;
  request: ProviderRequest;
};

/**
 * The job path's statements as raw SQL, one round trip each. Prisma's model queries are
 * compiled per call (its query compiler, WebAssembly): on a job path of a few statements that
 * compilation was a fifth of each process's CPU time (bench/queues.ts with --cpu-prof).
 * Every statement is one conditional write or one read, so none needs a transaction.
 */
const COLUMNS = Prisma.raw(`
  id::text AS id, kind::text AS kind, status::text AS status, owner_id::text AS "ownerId",
  campaign_id::text AS "campaignId", idempotency_key AS "idempotencyKey", input, request_hash AS "requestHash",
  stream, bypass_cache AS "bypassCache", result_text AS "resultText", content_sha AS "contentSha",
  content_type AS "contentType", prompt_tokens AS "promptTokens", completion_tokens AS "completionTokens",
  cost_micros AS "costMicros", cached, deployment, model, attempts, error_code AS "errorCode", error,
  stream_start_id AS "streamStartId", billed_at AS "billedAt", created_at AS "createdAt",
  started_at AS "startedAt", finished_at AS "finishedAt"`);

/**
 * New jobs, a batch in one statement: each the new row, or null when its owner already has a
 * job with its idempotency key (nothing written; the first of a key twice in one batch wins).
 */
export async function insertJobs(db: Db, jobs: { ownerId: string; input: NewJob }[]): Promise<(ProviderJob | null)[]> {
  const ids = jobs.map(() => randomUUID());
  const rows = JSON.stringify(
    jobs.map(({ ownerId, input }, i) => ({
      id: ids[i],
      kind: input.kind,
      owner_id: ownerId,
      campaign_id: input.campaignId,
      idempotency_key: input.idempotencyKey,
      input: input.request,
      request_hash: requestHash(input.request),
      stream: input.stream,
      bypass_cache: input.bypassCache,
    })),
  );
  const inserted = await db.$queryRaw<ProviderJob[]>`
    INSERT INTO provider_jobs (id, kind, owner_id, campaign_id, idempotency_key, input, request_hash, stream, bypass_cache)
    SELECT id, kind::"JobKind", owner_id, campaign_id, idempotency_key, input, request_hash, stream, bypass_cache
      FROM jsonb_to_recordset(${rows}::jsonb)
        AS t(id uuid, kind text, owner_id uuid, campaign_id uuid, idempotency_key text, input jsonb, request_hash text, stream boolean, bypass_cache boolean)
    ON CONFLICT (owner_id, idempotency_key) DO NOTHING
    RETURNING ${COLUMNS}`;
  const byId = new Map(inserted.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

export async function jobByKey(db: Db, ownerId: string, idempotencyKey: string): Promise<ProviderJob | null> {
  const rows = await db.$queryRaw<ProviderJob[]>`
    SELECT ${COLUMNS} FROM provider_jobs WHERE owner_id = ${ownerId}::uuid AND idempotency_key = ${idempotencyKey}`;
  return rows[0] ?? null;
}

/**
 * Marks unfinished jobs RUNNING (one more attempt, started once) and returns each, or null
 * when it is finished or has no row: one conditional update instead of a read then a write,
 * for a batch of ids (`ids[i]` answered at `i`; an id twice is claimed once).
 */
export async function claimJobs(db: Db, ids: string[]): Promise<(ProviderJob | null)[]> {
  const rows = await db.$queryRaw<ProviderJob[]>`
    UPDATE provider_jobs SET status = 'RUNNING', started_at = COALESCE(started_at, now()), attempts = attempts + 1
     WHERE id IN (SELECT value::uuid FROM jsonb_array_elements_text(${JSON.stringify([...new Set(ids)])}::jsonb)) AND status IN ('QUEUED', 'RUNNING')
     RETURNING ${COLUMNS}`;
  const claimed = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => {
    const job = claimed.get(id) ?? null;
    claimed.delete(id);
    return job;
  });
}

export type JobResult = {
  resultText: string | null;
  contentSha: string | null;
  contentType: string | null;
  deployment: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  cached: boolean;
};

/**
 * SUCCEEDED with its result and usage, only if not billed yet, for a batch of jobs; each
 * answered true when this statement billed it, false when another run already did (an id
 * twice is billed once: the first is true).
 */
export async function recordSuccesses(db: Db, results: ({ id: string; usage: JobFinishedEvent } & JobResult)[]): Promise<boolean[]> {
  const input = JSON.stringify(
    results.map((r) => ({
      id: r.id,
      result_text: r.resultText,
      content_sha: r.contentSha,
      content_type: r.contentType,
      deployment: r.deployment,
      model: r.model,
      prompt_tokens: r.promptTokens,
      completion_tokens: r.completionTokens,
      cost_micros: r.costMicros,
      cached: r.cached,
      usage: r.usage.data,
    })),
  );
  const rows = await db.$queryRaw<{ id: string }[]>`
    WITH input AS (
      SELECT DISTINCT ON (id) * FROM jsonb_to_recordset(${input}::jsonb)
        AS t(id uuid, result_text text, content_sha text, content_type text, deployment text, model text,
             prompt_tokens int, completion_tokens int, cost_micros int, cached boolean, usage jsonb)
    ),
    billed AS (
    UPDATE provider_jobs p
       SET status = 'SUCCEEDED', result_text = i.result_text, content_sha = i.content_sha, content_type = i.content_type,
           deployment = i.deployment, model = i.model, prompt_tokens = i.prompt_tokens, completion_tokens = i.completion_tokens,
           cost_micros = i.cost_micros, cached = i.cached, error = NULL, error_code = NULL, billed_at = now(), finished_at = now()
      FROM input i
     WHERE p.id = i.id AND p.billed_at IS NULL
     RETURNING p.id
    ),
    -- The usage record of each job billed here (so of each job once), in the same transaction.
    recorded AS (
      INSERT INTO outbox_events (id, topic, type, aggregate_id, version, data)
      SELECT gen_random_uuid(), ${Topics.ai}, 'JOB_FINISHED', i.id, 1, i.usage FROM input i JOIN billed b ON b.id = i.id
    )
    SELECT id::text AS id FROM billed`;
  const billed = new Set(rows.map((row) => row.id));
  return results.map((r) => billed.delete(r.id));
}

/** What `where` (an owner or a campaign) spent since `since`: one aggregate. */
export async function spentSince(db: Db, where: { ownerId: string } | { campaignId: string }, since: Date): Promise<Spent> {
  const filter = "ownerId" in where ? Prisma.sql`owner_id = ${where.ownerId}::uuid` : Prisma.sql`campaign_id = ${where.campaignId}::uuid`;
  const [row] = await db.$queryRaw<{ requests: number; tokens: number; costMicros: number }[]>`
    SELECT count(*)::int AS requests, COALESCE(sum(prompt_tokens + completion_tokens), 0)::float8 AS tokens,
           COALESCE(sum(cost_micros), 0)::float8 AS "costMicros"
      FROM provider_jobs WHERE ${filter} AND created_at >= ${since}`;
  return { requests: row?.requests ?? 0, tokens: row?.tokens ?? 0, costMicros: row?.costMicros ?? 0 };
}
