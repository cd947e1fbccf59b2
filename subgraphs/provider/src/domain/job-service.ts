import { ErrorCode, Role, activeTraceparent, appError, conflict, forbidden, hasRole, notFound, type CampaignClient, type ForwardedIdentity, type SignedInViewer } from "@startales/service-kit";
import type { Queue } from "bullmq";
import type { Db } from "../db";
import type { ProviderJob } from "../generated/prisma/client";
import type { QueueData } from "../queue";
import { exceededLimit, type BudgetLimits, type Spent } from "./budget";
import type { ContentStore } from "./content-store";
import type { DeploymentRegistry } from "./deployment-registry";
import { DEFAULT_GROUP, type JobKind } from "./deployments";
import type { JobEvents } from "./job-events";
import { requestHash, type ProviderRequest } from "./requests";

export type NewJob = {
  kind: JobKind;
  idempotencyKey: string;
  campaignId: string | null;
  bypassCache: boolean;
  stream: boolean;
  request: ProviderRequest;
};

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

/** Creating jobs (the mutations): idempotency, campaign membership, budgets, then the queue. */
export function createJobService(deps: JobServiceDeps) {
  const { db, queue } = deps;
  const clock = deps.clock ?? Date.now;

  async function spent(where: { ownerId: string } | { campaignId: string }): Promise<Spent> {
    const since = new Date(clock() - deps.budgets.windowMs);
    const totals = await db.providerJob.aggregate({
      where: { ...where, createdAt: { gte: since } },
      _count: { _all: true },
      _sum: { promptTokens: true, completionTokens: true, costMicros: true },
    });
    return {
      requests: totals._count._all,
      tokens: (totals._sum.promptTokens ?? 0) + (totals._sum.completionTokens ?? 0),
      costMicros: totals._sum.costMicros ?? 0,
    };
  }

  /** Over a budget: RATE_LIMITED with reason BUDGET_EXCEEDED (admins are exempt). */
  async function checkBudgets(viewer: SignedInViewer, campaignId: string | null): Promise<void> {
    if (hasRole(viewer, Role.ADMIN)) return;
    const checks: [string, Promise<Spent>, BudgetLimits][] = [["Your", spent({ ownerId: viewer.userId }), deps.budgets.player]];
    if (campaignId) checks.push(["This campaign's", spent({ campaignId }), deps.budgets.campaign]);
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
    return queue.add("run", traceparent ? { jobId: job.id, traceparent } : { jobId: job.id }, { jobId: job.id });
  };

  async function existing(viewer: SignedInViewer, input: NewJob): Promise<ProviderJob | null> {
    const found = await db.providerJob.findUnique({ where: { ownerId_idempotencyKey: { ownerId: viewer.userId, idempotencyKey: input.idempotencyKey } } });
    if (!found) return null;
    if (found.kind !== input.kind) throw conflict("This idempotencyKey was used for another kind of job");
    // A job created while the queue was unreachable is queued by the client's retry.
    if (found.status === "QUEUED") await enqueue(found);
    return found;
  }

  return {
    async create(viewer: SignedInViewer, forwarded: ForwardedIdentity, input: NewJob): Promise<ProviderJob> {
      const repeat = await existing(viewer, input);
      if (repeat) return repeat;
      if (input.campaignId) await checkCampaign(viewer, forwarded, input.campaignId);
      await checkBudgets(viewer, input.campaignId);
      let job: ProviderJob;
      try {
        job = await db.providerJob.create({
          data: {
            kind: input.kind,
            ownerId: viewer.userId,
            campaignId: input.campaignId,
            idempotencyKey: input.idempotencyKey,
            input: input.request,
            requestHash: requestHash(input.request),
            stream: input.stream,
            bypassCache: input.bypassCache,
          },
        });
      } catch (error) {
        if ((error as { code?: string }).code === "P2002") {
          const raced = await existing(viewer, input);
          if (raced) return raced;
        }
        throw error;
      }
      if (input.stream) {
        const streamStartId = await deps.events.queued(job.id);
        job = await db.providerJob.update({ where: { id: job.id }, data: { streamStartId } });
      }
      await enqueue(job);
      return job;
    },

    /** Transcription needs a vendor: without a deployment it is refused up front, clearly. */
    async assertTranscriptionConfigured(group: string | null): Promise<void> {
      const deployments = await deps.registry.list();
      const wanted = group ?? DEFAULT_GROUP.TRANSCRIPTION;
      if (!deployments.some((d) => d.enabled && d.kind === "TRANSCRIPTION")) {
        throw appError(ErrorCode.SERVICE_UNAVAILABLE, `No speech-to-text deployment is configured (model group ${wanted}); see the provider README`, {
          reason: "NOT_CONFIGURED",
        });
      }
    },

    storeAudio: (bytes: Buffer, contentType: string) => deps.content.put(bytes, contentType),
  };
}

export type JobService = ReturnType<typeof createJobService>;
