import { generateWorld } from "../../subgraphs/simulation/src/engine/generation/generate-world";
import { hashWorld } from "../../subgraphs/simulation/src/engine/core/state-hash";
import type { World } from "../../subgraphs/simulation/src/engine/model";

const players = (n: number) => Array.from({ length: n }, (_, i) => `player-${i}`);
const size = (w: World) => ({
  civs: w.civilizations.length,
  systems: w.systems.length,
  planets: w.planets.length,
  cities: w.cities.length,
  fleets: w.fleets.length,
  characters: w.characters.length,
  markets: w.markets.length,
});

describe("world generation", () => {
  const small = generateWorld({ seed: "gen", playerIds: players(50) });
  const large = generateWorld({ seed: "gen", playerIds: players(500) });

  it("gives every player one civilization, and adds AI civilizations (10%, at least 4)", () => {
    expect(small.civilizations.filter((c) => c.playerId !== null)).toHaveLength(50);
    expect(small.civilizations.filter((c) => c.playerId === null)).toHaveLength(5);
    expect(large.civilizations.filter((c) => c.playerId === null)).toHaveLength(50);
    expect(generateWorld({ seed: "gen", playerIds: ["a"] }).civilizations).toHaveLength(5);
    expect(new Set(large.civilizations.map((c) => c.playerId).filter(Boolean)).size).toBe(500);
  });

  it("scales every collection linearly with the player count", () => {
    const a = size(small);
    const b = size(large);
    for (const key of ["civs", "systems", "planets", "cities", "fleets", "characters"] as const) {
      expect(b[key] / a[key]).toBeGreaterThan(8.5);
      expect(b[key] / a[key]).toBeLessThan(11.5);
    }
    expect(b.markets).toBeGreaterThan(a.markets);
    expect(large.params.galaxySize ** 2 / small.params.galaxySize ** 2).toBeLessThan(12); // constant density
  });

  it("places systems inside the galaxy and gives each civilization a home with a capital, a colony, fleets and characters", () => {
    for (const s of small.systems) {
      expect(s.x).toBeGreaterThanOrEqual(0);
      expect(s.y).toBeGreaterThanOrEqual(0);
      expect(Math.max(s.x, s.y)).toBeLessThanOrEqual(small.params.galaxySize);
    }
    const systems = new Set(small.systems.map((s) => s.id));
    const markets = new Set(small.markets.map((m) => m.id));
    for (const civ of small.civilizations) {
      expect(systems.has(civ.homeSystemId)).toBe(true);
      expect(markets.has(civ.marketId)).toBe(true);
      expect(small.cities.filter((c) => c.ownerId === civ.id && c.systemId === civ.homeSystemId)).toHaveLength(2);
      expect(small.fleets.filter((f) => f.ownerId === civ.id && f.systemId === civ.homeSystemId)).toHaveLength(2);
      expect(small.characters.filter((c) => c.civId === civ.id).map((c) => c.role)).toEqual(expect.arrayContaining(["leader", "admiral"]));
      expect(civ.neighbors.length).toBeGreaterThan(0);
      expect(civ.neighbors).not.toContain(civ.id);
    }
    const terran = small.planets.find((p) => p.id === small.cities[0]!.planetId)!;
    expect(terran.type).toBe("terran");
  });

  it("builds a tech tree whose prerequisites all exist, markets with every good, and corporations", () => {
    const ids = new Set(small.techs.map((t) => t.id));
    for (const tech of small.techs) for (const p of tech.prereqs) expect(ids.has(p)).toBe(true);
    expect(small.techs.some((t) => t.prereqs.length === 0)).toBe(true);
    for (const m of small.markets) expect(m.goods).toHaveLength(5);
    expect(small.corporations.length).toBeGreaterThan(0);
  });

  it("is deterministic: same seed and players (in any order) give the same world; another seed another", () => {
    const again = generateWorld({ seed: "gen", playerIds: players(50).reverse() });
    expect(hashWorld(again)).toBe(hashWorld(small));
    expect(hashWorld(generateWorld({ seed: "other", playerIds: players(50) }))).not.toBe(hashWorld(small));
  });
});
