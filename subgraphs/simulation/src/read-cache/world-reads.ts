import type { AnswerVersions, CampaignVersions, ReadModelCache } from "@startales/service-kit";
import type { Db } from "../db";
import type { GalaxyMap } from "../engine";
import type { StarSystemModel, WorldSummary } from "../domain/read-models";
import type { CivilizationView, LeaderboardRow } from "../generated/prisma/client";

/** "civ-2" before "civ-10". */
const civNumber = (civId: string) => Number(civId.slice(civId.lastIndexOf("-") + 1));

/**
 * A campaign's read models as of its world's version (campaign-versions.ts): each read once per
 * tick per process (L1) and per deployment (L2, Redis), whoever asks. The viewer's scope is part
 * of a key wherever the answer depends on it: a galaxy map is its civilization's (fog of war),
 * and which civilization a viewer leads is read from the civilizations of the same version.
 * Values are shared by every request: resolvers must not change them.
 *
 * Without a version (Redis away) every read goes to PostgreSQL: slower, never stale.
 * `answer`, when given, notes the version each read came from (the request's answer may then
 * be kept by the gateway until the world's next version: service-kit answer-versions.ts).
 *
 * Raw SQL, as on every path clients poll (Prisma 6 compiles every model query anew).
 */
export function createWorldReads(db: Db, cache: ReadModelCache, versions: CampaignVersions) {
  const cached = <T>(key: string, version: string | null, compute: () => Promise<T>) => (version === null ? compute() : cache.read(`${key}:${version}`, compute));
  const civilizations = async (campaignId: string, version: string | null) =>
    cached(`civs:${campaignId}`, version, async () => {
      const rows = await db.$queryRaw<CivilizationView[]>`
        SELECT campaign_id::text AS "campaignId", civ_id AS "civId", player_id::text AS "playerId", tick, data
        FROM civilization_views WHERE campaign_id = ${campaignId}::uuid`;
      return rows.sort((a, b) => civNumber(a.civId) - civNumber(b.civId));
    });
  const ledBy = async (campaignId: string, version: string | null, userId: string) =>
    (await civilizations(campaignId, version)).find((civ) => civ.playerId === userId) ?? null;

  /** The world's version, noted on the request's answer. */
  const worldVersion = async (campaignId: string, answer: AnswerVersions | undefined) => {
    const version = await versions.world(campaignId);
    answer?.read("world", campaignId, version);
    return version;
  };

  return {
    /** The world at its latest tick, or null before it is generated. */
    async world(campaignId: string, answer?: AnswerVersions): Promise<WorldSummary | null> {
      const version = await worldVersion(campaignId, answer);
      return cached(`world:${campaignId}`, version, async () => {
        const [row] = await db.$queryRaw<WorldSummary[]>`SELECT campaign_id::text AS "campaignId", tick, hash FROM worlds WHERE campaign_id = ${campaignId}::uuid`;
        return row ?? null;
      });
    },
    /** Static after generation, but keyed by version like the rest: the world may not exist yet. */
    async starSystems(campaignId: string, answer?: AnswerVersions): Promise<StarSystemModel[]> {
      const version = await worldVersion(campaignId, answer);
      return cached(`systems:${campaignId}`, version, async () => {
        const [row] = await db.$queryRaw<{ starSystems: StarSystemModel[] }[]>`SELECT star_systems AS "starSystems" FROM worlds WHERE campaign_id = ${campaignId}::uuid`;
        return row?.starSystems ?? [];
      });
    },
    async civilizations(campaignId: string, answer?: AnswerVersions): Promise<CivilizationView[]> {
      return civilizations(campaignId, await worldVersion(campaignId, answer));
    },
    /** The civilization `userId` leads in the campaign, or null. */
    async civilizationLedBy(campaignId: string, userId: string, answer?: AnswerVersions): Promise<CivilizationView | null> {
      return ledBy(campaignId, await worldVersion(campaignId, answer), userId);
    },
    /** The galaxy map of the civilization `userId` leads: keyed by that civilization, never shared with another's. */
    async galaxyMapOf(campaignId: string, userId: string, answer?: AnswerVersions): Promise<GalaxyMap | null> {
      const version = await worldVersion(campaignId, answer);
      const civ = await ledBy(campaignId, version, userId);
      if (!civ) return null;
      return cached(`map:${campaignId}:${civ.civId}`, version, async () => {
        const [row] = await db.$queryRaw<{ map: GalaxyMap }[]>`
          SELECT map FROM galaxy_map_views WHERE campaign_id = ${campaignId}::uuid AND civ_id = ${civ.civId}`;
        return row?.map ?? null;
      });
    },
    /** The top `first` rows: no more rows are read than are asked for. */
    async leaderboard(campaignId: string, first: number, answer?: AnswerVersions): Promise<LeaderboardRow[]> {
      const version = await worldVersion(campaignId, answer);
      return cached(
        `leaderboard:${campaignId}:${first}`,
        version,
        () => db.$queryRaw<LeaderboardRow[]>`
          SELECT campaign_id::text AS "campaignId", civ_id AS "civId", rank, name, player_id::text AS "playerId", score, population, techs, ships, tick
          FROM leaderboard WHERE campaign_id = ${campaignId}::uuid ORDER BY rank, civ_id LIMIT ${first}`,
      );
    },
  };
}

export type WorldReads = ReturnType<typeof createWorldReads>;
