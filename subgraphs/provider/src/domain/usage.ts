import type { Db } from "../db";

export type UsageTotals = { requests: number; succeeded: number; failed: number; cachedRequests: number; promptTokens: number; completionTokens: number; costMicros: number };
export type UsageGrouping = "KIND" | "DEPLOYMENT" | "USER" | "CAMPAIGN";

const FIELD = { KIND: "kind", DEPLOYMENT: "deployment", USER: "ownerId", CAMPAIGN: "campaignId" } as const;

const empty = (): UsageTotals => ({ requests: 0, succeeded: 0, failed: 0, cachedRequests: 0, promptTokens: 0, completionTokens: 0, costMicros: 0 });

/** Usage recorded on jobs (each billed once) between two instants, grouped; for admins and analysts. */
export async function providerUsage(
  db: Db,
  args: { since: Date; until: Date; userId: string | null; campaignId: string | null; groupBy: UsageGrouping },
): Promise<{ since: Date; until: Date; totals: UsageTotals; rows: { key: string; totals: UsageTotals }[] }> {
  const field = FIELD[args.groupBy];
  const groups = await db.providerJob.groupBy({
    by: [field, "status", "cached"],
    where: {
      createdAt: { gte: args.since, lt: args.until },
      ...(args.userId ? { ownerId: args.userId } : {}),
      ...(args.campaignId ? { campaignId: args.campaignId } : {}),
    },
    _count: { _all: true },
    _sum: { promptTokens: true, completionTokens: true, costMicros: true },
  });
  const totals = empty();
  const rows = new Map<string, UsageTotals>();
  for (const group of groups) {
    const key = String((group as Record<string, unknown>)[field] ?? "none");
    const row = rows.get(key) ?? empty();
    rows.set(key, row);
    for (const target of [row, totals]) {
      const n = group._count._all;
      target.requests += n;
      if (group.status === "SUCCEEDED") target.succeeded += n;
      if (group.status === "FAILED") target.failed += n;
      if (group.cached) target.cachedRequests += n;
      target.promptTokens += group._sum.promptTokens ?? 0;
      target.completionTokens += group._sum.completionTokens ?? 0;
      target.costMicros += group._sum.costMicros ?? 0;
    }
  }
  return { since: args.since, until: args.until, totals, rows: [...rows].sort(([a], [b]) => a.localeCompare(b)).map(([key, t]) => ({ key, totals: t })) };
}
