import DataLoader from "dataloader";
import type { ReadModelCache, Viewer } from "@startales/service-kit";
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

/**
 * One set per request: every entity and list read batches through a loader (no N+1). With a
 * `cache`, what every poll of a campaign asks besides the campaign row (its member count, the
 * caller's membership) is read once per campaign version: the row's `version`, bumped in the
 * same transaction as every membership and lifecycle change, is part of the key, so a change
 * is seen by the very next read (the writer's own included), and the row itself is read
 * every time (one primary-key lookup) to learn it.
 */
export function createLoaders(db: Db, viewer: Viewer, cache?: ReadModelCache) {
  const campaignById = new DataLoader<string, Campaign | null>(async (ids) => {
    const rows = byKey(await db.$queryRaw<Campaign[]>`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ANY(${[...ids]}::uuid[])`, (c) => c.id);
    return ids.map((id) => rows.get(id) ?? null);
  });
  /**
   * `read` for each campaign through the cache, under `name` and the campaign's version, the
   * misses in one batch; uncached without a cache, or for a campaign that does not exist.
   */
  const perVersion = async <T>(name: string, ids: readonly string[], read: (ids: readonly string[]) => Promise<T[]>): Promise<T[]> => {
    if (!cache) return read(ids);
    const campaigns = await campaignById.loadMany(ids);
    const versioned = ids.filter((_, i) => campaigns[i] && !(campaigns[i] instanceof Error));
    const unversioned = ids.filter((id) => !versioned.includes(id));
    const keys = versioned.map((id) => `${name}:${id}:${(campaigns[ids.indexOf(id)] as Campaign).version}`);
    const [cached, uncached] = await Promise.all([
      cache.readMany(keys, (missing) => read(missing.map((i) => versioned[i]!))),
      unversioned.length > 0 ? read(unversioned) : Promise.resolve([]),
    ]);
    return ids.map((id) => (versioned.includes(id) ? cached[versioned.indexOf(id)]! : uncached[unversioned.indexOf(id)]!));
  };
  const memberCounts = async (campaignIds: readonly string[]) => {
    const counts = await db.$queryRaw<{ campaignId: string; count: number }[]>`
      SELECT campaign_id::text AS "campaignId", count(*)::int AS count FROM memberships WHERE campaign_id = ANY(${[...campaignIds]}::uuid[]) GROUP BY campaign_id`;
    const byId = new Map(counts.map((c) => [c.campaignId, c.count]));
    return campaignIds.map((id) => byId.get(id) ?? 0);
  };
  const membershipsOf = async (userId: string, campaignIds: readonly string[]) => {
    const rows = byKey(
      await db.$queryRaw<Membership[]>`SELECT ${MEMBERSHIP_COLUMNS} FROM memberships WHERE user_id = ${userId}::uuid AND campaign_id = ANY(${[...campaignIds]}::uuid[])`,
      (m) => m.campaignId,
    );
    return campaignIds.map((id) => rows.get(id) ?? null);
  };
  return {
    campaignById,
    membersByCampaign: new DataLoader<string, Membership[]>(async (campaignIds) => {
      const rows = await db.membership.findMany({
        where: { campaignId: { in: [...campaignIds] } },
        orderBy: [{ joinedAt: "asc" }, { id: "asc" }],
      });
      const grouped = new Map<string, Membership[]>(campaignIds.map((id) => [id, []]));
      for (const row of rows) grouped.get(row.campaignId)?.push(row);
      return campaignIds.map((id) => grouped.get(id) ?? []);
    }),
    memberCountByCampaign: new DataLoader<string, number>((campaignIds) => perVersion("members", campaignIds, memberCounts)),
    /** The caller's own membership per campaign (what every authorization check asks). */
    viewerMembership: new DataLoader<string, Membership | null>(async (campaignIds) => {
      if (viewer.kind !== "user") return campaignIds.map(() => null);
      const memberships = await perVersion(`membership:${viewer.userId}`, campaignIds, (ids) => membershipsOf(viewer.userId, ids));
      // Kept as JSON: joinedAt comes back a string.
      return memberships.map((m) => (m ? { ...m, joinedAt: new Date(m.joinedAt) } : null));
    }),
  };
}

export type CampaignLoaders = ReturnType<typeof createLoaders>;
