import { Role, hasRole, isId, type Policies, type Viewer } from "@startales/service-kit";
import type { ProviderContext } from "../context";
import type { ProviderJob } from "../generated/prisma/client";

/** Who may read a job (its result, chunks, usage): whoever created it, and admins. */
export const canReadJob = (viewer: Viewer, job: Pick<ProviderJob, "ownerId">) =>
  viewer.kind === "user" && (viewer.userId === job.ownerId || hasRole(viewer, Role.ADMIN));

/**
 * The data-dependent rules schema.graphql names with @policy. As elsewhere, a policy that
 * cannot find its subject allows: the resolver then answers null or NOT_FOUND.
 */
export const providerPolicies: Policies<ProviderContext> = {
  job_reader: async ({ typeName, parent, args, context, viewer }) => {
    if (typeName === "ProviderJob") return !parent || canReadJob(viewer, parent as ProviderJob);
    const id = args.jobId ?? args.id;
    const job = isId(id) ? await context.loaders.jobById.load(id) : null;
    return !job || canReadJob(viewer, job);
  },
};
