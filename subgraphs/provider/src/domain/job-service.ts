import { activeTraceparent, appError, type CampaignClient, conflict, createGroupCommit, ErrorCode, forbidden, type ForwardedIdentity, hasRole, notFound, Role, type SignedInViewer } from "@startales/service-kit";
import type { Queue } from "bullmq";
import type { Db } from "../db";
import type { ProviderJob } from "../generated/prisma/client";
import type { QueueData } from "../queue";
import { createQueueBatcher } from "../queue-batch";
import { exceededLimit, type BudgetLimits, type Spent } from "./budget";
import type { ContentStore } from "./content-store";
import type { DeploymentRegistry } from "./deployment-registry";
import { DEFAULT_GROUP } from "./deployments";
import type { JobEvents } from "./job-events";
export type { NewJob } from "./job-rows";
import { insertJobs, jobByKey, spentSince, type NewJob } from "./job-rows";

export type JobServiceDeps = {
  db: Db;
  queue: Queue<QueueData>;
  events: JobEvents;
  campaigns: CampaignClient;
  content: ContentStore;
  registry: DeploymentRegistry;
  budgets: { windowMs: number; player: BudgetLimits; campaign: BudgetLimits };
  clock?: () => number;
};

const LIMIT_NAMES: Record<keyof Spent, string> = { requests: "requests", tokens: "tokens", costMicros: "cost" };

/** All limits 0: nothing to add up. */
const unlimited = (limits: BudgetLimits) => limits.requests === 0 && limits.tokens === 0 && limits.costMicros === 0;

/** Creating jobs (the mutations): idempotency, campaign membership, budgets, then the queue. */
export function createJobService(deps: JobServiceDeps) {
  const { db } = deps;
  const clock = deps.clock ?? Date.now;
  const queue = createQueueBatcher(deps.queue, "run");
  // Concurrent mutations share their INSERT (and its commit), as their queuing shares an addBulk.
  const insertJob = createGroupCommit((jobs: { ownerId: string; input: NewJob }[]) => insertJobs(db, jobs));

  const spent = (where: { ownerId: string } | { campaignId: string }) => spentSince(db, where, new Date(clock() - deps.budgets.windowMs));

  /** The budgets a job of this viewer's charges (none for admins, nor for unlimited ones). */
  function budgetChecks(viewer: SignedInViewer, campaignId: string | null): [string, { ownerId: string } | { campaignId: string }, BudgetLimits][] {
    if (hasRole(viewer, Role.ADMIN)) return [];
    const checks: [string, { ownerId: string } | { campaignId: string }, BudgetLimits][] = [["Your", { ownerId: viewer.userId }, deps.budgets.player]];
    if (campaignId) checks.push(["This campaign's", { campaignId }, deps.budgets.campaign]);
    return checks.filter(([, , limits]) => !unlimited(limits));
  }

  /** Over a budget: RATE_LIMITED with reason BUDGET_EXCEEDED (admins are exempt). */
  async function checkBudgets(viewer: SignedInViewer, campaignId: string | null): Promise<void> {
    const checks = budgetChecks(viewer, campaignId).map(([whose, where, limits]) => [whose, spent(where), limits] as const);
    for (const [whose, pending, limits] of checks) {
      const limit = exceededLimit(await pending, limits);
      if (limit) {
        throw appError(ErrorCode.RATE_LIMITED, `${whose} AI budget (${LIMIT_NAMES[limit]}) is used up for now; try again later`, {
          reason: "BUDGET_EXCEEDED",
          retryAfter: Math.ceil(deps.budgets.windowMs / 1000),
        });
      }
    }
  }

  async function checkCampaign(viewer: SignedInViewer, forwarded: ForwardedIdentity, campaignId: string): Promise<void> {
    const [access] = await deps.campaigns.access(forwarded, [campaignId]);
    if (!access || access.kind === "missing") throw notFound("No campaign with this id");
    if (access.kind === "member" || (access.kind === "reader" && hasRole(viewer, Role.ADMIN))) return;
    throw forbidden("Only members of this campaign can charge its AI budget");
  }

  /** Queues the job (again): BullMQ ignores an id it already holds, so this is idempotent. */
  const enqueue = (job: ProviderJob) => {
    const traceparent = activeTraceparent();
    return queue.add(traceparent ? { jobId: job.id, traceparent } : { jobId: job.id }, { jobId: job.id });
  };

  async function existing(viewer: SignedInViewer, input: NewJob): Promise<ProviderJob | null> {
    const found = await jobByKey(db, viewer.userId, input.idempotencyKey);
    if (!found) return null;
    if (found.kind !== input.kind) throw conflict("This idempotencyKey was used for another kind of job");
    // A job created while the queue was unreachable is queued by the client's retry.
    if (found.status === "QUEUED") await enqueue(found);
    return found;
  }

  return {
    async create(viewer: SignedInViewer, forwarded: ForwardedIdentity, input: NewJob): Promise<ProviderJob> {
      // A repeat is answered before any check (it was checked when it was created); with no
      // check to make, the insert itself finds the repeat (ON CONFLICT): one statement.
      if (input.campaignId || budgetChecks(viewer, input.campaignId).length > 0) {
        const repeat = await existing(viewer, input);
        if (repeat) return repeat;
        if (input.campaignId) await checkCampaign(viewer, forwarded, input.campaignId);
        await checkBudgets(viewer, input.campaignId);
      }
      let job = await insertJob({ ownerId: viewer.userId, input });
      if (!job) {
        const repeat = await existing(viewer, input);
        if (repeat) return repeat;
        throw new Error("a job with this idempotency key conflicted on insert but cannot be found");
      }
      if (input.stream) {
        const streamStartId = await deps.events.queued(job.id);
        job = await db.providerJob.update({ where: { id: job.id }, data: { streamStartId } });
      }
      await enqueue(job);
      return job;
    },

    /**
     * Transcription needs a vendor or the offline engine (pocketsphinx, where installed):
     * without either it is refused up front, clearly. `offlineOnly`: no vendor could take the
     * job, so the audio must be what the offline engine reads.
     */
    async assertTranscriptionConfigured(group: string | null): Promise<{ offlineOnly: boolean }> {
      const deployments = (await deps.registry.list()).filter((d) => d.enabled && d.kind === "TRANSCRIPTION");
      const wanted = group ?? DEFAULT_GROUP.TRANSCRIPTION;
      if (deployments.length === 0) {
        throw appError(ErrorCode.SERVICE_UNAVAILABLE, `No speech-to-text deployment is configured (model group ${wanted}); see the provider README`, {
          reason: "NOT_CONFIGURED",
        });
      }
      return { offlineOnly: deployments.every((d) => d.driver === "OFFLINE") };
    },

    storeAudio: (bytes: Buffer, contentType: string) => deps.content.put(bytes, contentType),
  };
}

export type JobService = ReturnType<typeof createJobService>;
