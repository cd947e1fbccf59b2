import { GOODS, createGalaxyMapReader, leaderboard, type Civilization, type GalaxyMap, type LeaderboardEntry, type World } from "../engine";
import type { World as WorldRow } from "../generated/prisma/client";

/**
 * What the World type resolves from: the world row's fields the API shows, never its state
 * snapshot; plain JSON, so that it is read once per tick and shared (read-cache/).
 */
export type WorldSummary = Pick<WorldRow, "campaignId" | "tick" | "hash">;

/** World.starSystems: static after generation, stored once with the world. */
export type StarSystemModel = {
  id: string;
  name: string;
  x: number;
  y: number;
  planets: { id: string; name: string; type: string; habitability: number }[];
};

/** What a civilization_views row holds in `data`: the figures the API serves, nothing else. */
export type CivilizationData = {
  name: string;
  species: string;
  homeSystemId: string;
  score: number;
  stability: number;
  eliminated: boolean;
  credits: number;
  /** Indexed like GOODS. */
  stock: number[];
  techs: string[];
  researchId: string | null;
  taxRate: number;
  policy: string;
};

export type CivilizationRow = { civId: string; playerId: string | null; data: CivilizationData };
export type GalaxyMapRow = { civId: string; map: GalaxyMap };

export function starSystemsOf(world: World): StarSystemModel[] {
  const planets = new Map(world.planets.map((p) => [p.id, p]));
  return world.systems.map((s) => ({
    id: s.id,
    name: s.name,
    x: s.x,
    y: s.y,
    planets: s.planetIds.map((id) => {
      const p = planets.get(id)!;
      return { id: p.id, name: p.name, type: p.type, habitability: p.habitability };
    }),
  }));
}

const civilizationData = (c: Civilization): CivilizationData => ({
  name: c.name,
  species: c.species,
  homeSystemId: c.homeSystemId,
  score: c.score,
  stability: c.stability,
  eliminated: c.eliminated,
  credits: c.credits,
  stock: c.stock.slice(),
  techs: c.techs.slice(),
  researchId: c.researchId,
  taxRate: c.taxRate,
  policy: c.policy,
});

/**
 * The read models of one tick (CQRS): every civilization's figures, the galaxy map of every
 * player's civilization (AI civilizations have no reader), and the leaderboard. Computed by
 * the worker once per tick, so queries only read rows.
 */
export function readModelsOf(world: World): { civilizations: CivilizationRow[]; maps: GalaxyMapRow[]; leaderboard: LeaderboardEntry[] } {
  const mapOf = createGalaxyMapReader(world);
  const maps: GalaxyMapRow[] = [];
  for (const c of world.civilizations) {
    if (c.playerId === null) continue;
    const map = mapOf(c.id);
    if (map) maps.push({ civId: c.id, map });
  }
  return {
    civilizations: world.civilizations.map((c) => ({ civId: c.id, playerId: c.playerId, data: civilizationData(c) })),
    maps,
    leaderboard: leaderboard(world),
  };
}

/** The Resources type: stock by good name, plus credits. */
export function resourcesOf(data: CivilizationData) {
  const at = (good: (typeof GOODS)[number]) => data.stock[GOODS.indexOf(good)] ?? 0;
  return { credits: data.credits, food: at("food"), energy: at("energy"), minerals: at("minerals"), alloys: at("alloys"), consumerGoods: at("consumer_goods") };
}
