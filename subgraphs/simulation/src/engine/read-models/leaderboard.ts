import type { Id, World } from "../model";

export interface LeaderboardEntry {
  rank: number;
  civId: Id;
  name: string;
  playerId: string | null;
  score: number;
  population: number;
  techs: number;
  ships: number;
}

/**
 * Civilizations by score (highest first; equal scores share a rank and are listed by id),
 * with the figures behind the score. O(n log n).
 */
export function leaderboard(world: World, limit = Infinity): LeaderboardEntry[] {
  const population = new Map<Id, number>();
  for (const c of world.cities) population.set(c.ownerId, (population.get(c.ownerId) ?? 0) + c.population);
  const ships = new Map<Id, number>();
  for (const f of world.fleets) ships.set(f.ownerId, (ships.get(f.ownerId) ?? 0) + f.ships.reduce((s, n) => s + n, 0));
  const sorted = world.civilizations
    .filter((c) => !c.eliminated)
    .slice()
    .sort((p, q) => q.score - p.score || (p.id < q.id ? -1 : p.id > q.id ? 1 : 0));
  const entries: LeaderboardEntry[] = [];
  for (let i = 0; i < sorted.length && i < limit; i++) {
    const c = sorted[i]!;
    const previous = entries[i - 1];
    entries.push({
      rank: previous && previous.score === c.score ? previous.rank : i + 1,
      civId: c.id,
      name: c.name,
      playerId: c.playerId,
      score: c.score,
      population: population.get(c.id) ?? 0,
      techs: c.techs.length,
      ships: ships.get(c.id) ?? 0,
    });
  }
  return entries;
}
