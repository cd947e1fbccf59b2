import DataLoader from "dataloader";
import type { Viewer } from "@startales/service-kit";
import type { Db } from "./db";
import type { Campaign, Membership } from "./generated/prisma/client";

const byKey = <T, K>(rows: T[], key: (row: T) => K) => new Map(rows.map((row) => [key(row), row]));

/** One set per request: every entity and list read batches through a loader (no N+1). */
export function createLoaders(db: Db, viewer: Viewer) {
  return {
    campaignById: new DataLoader<string, Campaign | null>(async (ids) => {
      const rows = byKey(await db.campaign.findMany({ where: { id: { in: [...ids] } } }), (c) => c.id);
      return ids.map((id) => rows.get(id) ?? null);
    }),
    membersByCampaign: new DataLoader<string, Membership[]>(async (campaignIds) => {
      const rows = await db.membership.findMany({
        where: { campaignId: { in: [...campaignIds] } },
        orderBy: [{ joinedAt: "asc" }, { id: "asc" }],
      });
      const grouped = new Map<string, Membership[]>(campaignIds.map((id) => [id, []]));
      for (const row of rows) grouped.get(row.campaignId)?.push(row);
      return campaignIds.map((id) => grouped.get(id) ?? []);
    }),
    memberCountByCampaign: new DataLoader<string, number>(async (campaignIds) => {
      const counts = await db.membership.groupBy({ by: ["campaignId"], where: { campaignId: { in: [...campaignIds] } }, _count: { _all: true } });
      const byId = new Map(counts.map((c) => [c.campaignId, c._count._all]));
      return campaignIds.map((id) => byId.get(id) ?? 0);
    }),
    /** The caller's own membership per campaign (what every authorization check asks). */
    viewerMembership: new DataLoader<string, Membership | null>(async (campaignIds) => {
      if (viewer.kind !== "user") return campaignIds.map(() => null);
      const rows = byKey(
        await db.membership.findMany({ where: { userId: viewer.userId, campaignId: { in: [...campaignIds] } } }),
        (m) => m.campaignId,
      );
      return campaignIds.map((id) => rows.get(id) ?? null);
    }),
  };
}

export type CampaignLoaders = ReturnType<typeof createLoaders>;
