import DataLoader from "dataloader";
import type { CampaignAccess, CampaignClient, CampaignReadAccess, ForwardedIdentity, Viewer } from "@startales/service-kit";
import type { Db } from "./db";
import type { GalaxyMap } from "./engine";
import type { CivilizationView, LeaderboardRow } from "./generated/prisma/client";
import type { StarSystemModel, WorldSummary } from "./domain/read-models";

const byKey = <T, K>(rows: T[], key: (row: T) => K) => new Map(rows.map((row) => [key(row), row]));
const grouped = <T>(ids: readonly string[], rows: T[], key: (row: T) => string) => {
  const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const row of rows) groups.get(key(row))?.push(row);
  return ids.map((id) => groups.get(id) ?? []);
};
/** "civ-2" before "civ-10". */
const civNumber = (civId: string) => Number(civId.slice(civId.lastIndexOf("-") + 1));

const WORLD_SUMMARY = { campaignId: true, tick: true, status: true, campaignVersion: true, tickRateMs: true, hash: true, starSystems: false, lastError: true, createdAt: true, updatedAt: true } as const;

/**
 * One set per request: every read batches through a loader (no N+1), and reads only the
 * read models (never the world's state). What campaign says about membership is asked
 * afresh per request for commands and game-master reads (`campaignAccess`), and kept across
 * requests for CAMPAIGN_READ_ACCESS_TTL_MS for the reads clients poll (`readAccess`).
 */
export function createLoaders(db: Db, campaigns: CampaignClient, readAccess: CampaignReadAccess, viewer: Viewer, forwarded: ForwardedIdentity) {
  const userId = viewer.kind === "user" ? viewer.userId : null;
  const viewerCivilization = new DataLoader<string, CivilizationView | null>(async (campaignIds) => {
    if (!userId) return campaignIds.map(() => null);
    const rows = byKey(await db.civilizationView.findMany({ where: { campaignId: { in: [...campaignIds] }, playerId: userId } }), (c) => c.campaignId);
    return campaignIds.map((id) => rows.get(id) ?? null);
  });
  return {
    viewer,
    forwarded,
    /** The caller's access to each campaign, asked of campaign in one request per batch: for commands and game-master reads. */
    campaignAccess: new DataLoader<string, CampaignAccess>(async (ids) =>
      viewer.kind === "user" ? campaigns.access(forwarded, ids) : ids.map(() => ({ kind: "forbidden" }) as const),
    ),
    /** The same, as campaign answered it moments ago (CAMPAIGN_READ_ACCESS_TTL_MS): for the reads clients poll. */
    readAccess: new DataLoader<string, CampaignAccess>(async (ids) =>
      viewer.kind === "user" ? readAccess(viewer, forwarded, ids) : ids.map(() => ({ kind: "forbidden" }) as const),
    ),
    worldByCampaign: new DataLoader<string, WorldSummary | null>(async (ids) => {
      const rows = byKey(await db.world.findMany({ where: { campaignId: { in: [...ids] } }, select: WORLD_SUMMARY }), (w) => w.campaignId);
      return ids.map((id) => (rows.get(id) as WorldSummary | undefined) ?? null);
    }),
    starSystemsByCampaign: new DataLoader<string, StarSystemModel[]>(async (ids) => {
      const rows = byKey(await db.world.findMany({ where: { campaignId: { in: [...ids] } }, select: { campaignId: true, starSystems: true } }), (w) => w.campaignId);
      return ids.map((id) => (rows.get(id)?.starSystems as StarSystemModel[] | undefined) ?? []);
    }),
    civilizationsByCampaign: new DataLoader<string, CivilizationView[]>(async (ids) => {
      const rows = await db.civilizationView.findMany({ where: { campaignId: { in: [...ids] } } });
      return grouped(ids, rows, (c) => c.campaignId).map((list) => list.sort((a, b) => civNumber(a.civId) - civNumber(b.civId)));
    }),
    viewerCivilization,
    /** The caller's galaxy map in each campaign (that of their civilization), in one query per batch. */
    viewerGalaxyMap: new DataLoader<string, GalaxyMap | null>(async (campaignIds) => {
      if (!userId) return campaignIds.map(() => null);
      const rows = await db.$queryRaw<{ campaign_id: string; map: GalaxyMap }[]>`
        SELECT g.campaign_id::text AS campaign_id, g.map
        FROM civilization_views c JOIN galaxy_map_views g ON g.campaign_id = c.campaign_id AND g.civ_id = c.civ_id
        WHERE c.player_id = ${userId}::uuid AND c.campaign_id = ANY(${[...campaignIds]}::uuid[])`;
      const maps = byKey(rows, (row) => row.campaign_id);
      return campaignIds.map((id) => maps.get(id)?.map ?? null);
    }),
    /**
     * The top `first` rows of each campaign's leaderboard: no more rows are read than are asked
     * for. Raw SQL on this path clients poll: Prisma 6 compiles every model query anew (about
     * twice the CPU of the raw query, measured).
     */
    leaderboard: new DataLoader<{ campaignId: string; first: number }, LeaderboardRow[], string>(
      (keys) =>
        Promise.all(
          keys.map(
            ({ campaignId, first }) => db.$queryRaw<LeaderboardRow[]>`
              SELECT campaign_id::text AS "campaignId", civ_id AS "civId", rank, name, player_id::text AS "playerId", score, population, techs, ships, tick
              FROM leaderboard WHERE campaign_id = ${campaignId}::uuid ORDER BY rank, civ_id LIMIT ${first}`,
          ),
        ),
      { cacheKeyFn: ({ campaignId, first }) => `${campaignId}:${first}` },
    ),
  };
}

export type SimulationLoaders = ReturnType<typeof createLoaders>;
