import DataLoader from "dataloader";
import type { Viewer } from "@startales/service-kit";
import type { Db } from "./db";
import { Prisma, type Campaign, type Membership } from "./generated/prisma/client";

const byKey = <T, K>(rows: T[], key: (row: T) => K) => new Map(rows.map((row) => [key(row), row]));

/**
 * The reads every campaign request makes (the campaign, the caller's membership for each
 * authorization check, the member count) in raw SQL: Prisma 6 compiles every model query
 * anew, about twice the CPU of the raw query (measured), and these run on every poll. The
 * columns are the models' own, under their Prisma names (test/integration/campaign-read-sql
 * checks them against Prisma's reads); the rest stay Prisma queries.
 */
export const CAMPAIGN_COLUMNS = Prisma.sql`id::text AS id, name, status::text AS status, tick_rate_ms AS "tickRateMs", max_players AS "maxPlayers", seed,
  created_by_id::text AS "createdById", version, created_at AS "createdAt", updated_at AS "updatedAt", started_at AS "startedAt", ended_at AS "endedAt"`;
export const MEMBERSHIP_COLUMNS = Prisma.sql`id::text AS id, campaign_id::text AS "campaignId", user_id::text AS "userId", role::text AS role, joined_at AS "joinedAt"`;

/** One set per request: every entity and list read batches through a loader (no N+1). */
export function createLoaders(db: Db, viewer: Viewer) {
  return {
    campaignById: new DataLoader<string, Campaign | null>(async (ids) => {
      const rows = byKey(await db.$queryRaw<Campaign[]>`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ANY(${[...ids]}::uuid[])`, (c) => c.id);
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
      const counts = await db.$queryRaw<{ campaignId: string; count: number }[]>`
        SELECT campaign_id::text AS "campaignId", count(*)::int AS count FROM memberships WHERE campaign_id = ANY(${[...campaignIds]}::uuid[]) GROUP BY campaign_id`;
      const byId = new Map(counts.map((c) => [c.campaignId, c.count]));
      return campaignIds.map((id) => byId.get(id) ?? 0);
    }),
    /** The caller's own membership per campaign (what every authorization check asks). */
    viewerMembership: new DataLoader<string, Membership | null>(async (campaignIds) => {
      if (viewer.kind !== "user") return campaignIds.map(() => null);
      const rows = byKey(
        await db.$queryRaw<Membership[]>`SELECT ${MEMBERSHIP_COLUMNS} FROM memberships WHERE user_id = ${viewer.userId}::uuid AND campaign_id = ANY(${[...campaignIds]}::uuid[])`,
        (m) => m.campaignId,
      );
      return campaignIds.map((id) => rows.get(id) ?? null);
    }),
  };
}

export type CampaignLoaders = ReturnType<typeof createLoaders>;
