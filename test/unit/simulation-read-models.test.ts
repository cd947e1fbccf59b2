import { generateWorld } from "../../subgraphs/simulation/src/engine/generation/generate-world";
import { createGalaxyMapReader, galaxyMapFor, sensorRange } from "../../subgraphs/simulation/src/engine/read-models/galaxy-map";
import { leaderboard } from "../../subgraphs/simulation/src/engine/read-models/leaderboard";
import { tick } from "../../subgraphs/simulation/src/engine/tick";
import type { World } from "../../subgraphs/simulation/src/engine/model";

const world: World = (() => {
  let w = generateWorld({ seed: "maps", playerIds: Array.from({ length: 40 }, (_, i) => `p${i}`) });
  for (let t = 0; t < 3; t++) w = tick(w).world;
  return w;
})();
const system = (id: string) => world.systems.find((s) => s.id === id)!;

describe("galaxy map read model (fog of war)", () => {
  const civ = world.civilizations.find((c) => c.playerId === "p0")!;
  const map = galaxyMapFor(world, civ.id)!;
  const range = sensorRange(world, civ);

  it("shows the systems within sensor range of the civilization's cities and fleets, and no others", () => {
    const home = system(civ.homeSystemId);
    const sources = [home, ...world.fleets.filter((f) => f.ownerId === civ.id)];
    const expected = world.systems.filter((s) => sources.some((src) => Math.hypot(s.x - src.x, s.y - src.y) <= range)).map((s) => s.id);
    expect(map.systems.map((s) => s.id)).toEqual(expected);
    expect(map.systems.length).toBeLessThan(world.systems.length / 4);
    const own = map.systems.find((s) => s.id === civ.homeSystemId)!;
    expect(own.planets.flatMap((p) => p.cities).filter((c) => c.ownerId === civ.id)).toHaveLength(2);
  });

  it("shows its own fleets in full and other visible fleets only as a total", () => {
    const own = map.fleets.filter((f) => f.ownerId === civ.id);
    expect(own.length).toBe(world.fleets.filter((f) => f.ownerId === civ.id).length);
    for (const f of own) expect(f.ships).not.toBeNull();
    for (const f of map.fleets.filter((x) => x.ownerId !== civ.id)) {
      expect(f.ships).toBeNull();
      expect(f.destinationId).toBeNull();
      expect(Math.hypot(f.x - system(civ.homeSystemId).x, f.y - system(civ.homeSystemId).y)).toBeLessThanOrEqual(range * 3);
    }
  });

  it("a fleet far away is not on the map until it comes within range", () => {
    const far = world.fleets.find((f) => Math.hypot(f.x - system(civ.homeSystemId).x, f.y - system(civ.homeSystemId).y) > range * 3)!;
    expect(map.fleets.some((f) => f.id === far.id)).toBe(false);
    const moved: World = { ...world, fleets: world.fleets.map((f) => (f.id === far.id ? { ...f, x: system(civ.homeSystemId).x + 1, y: system(civ.homeSystemId).y } : f)) };
    expect(galaxyMapFor(moved, civ.id)!.fleets.some((f) => f.id === far.id)).toBe(true);
  });

  it("one reader serves every civilization, and an unknown one gets null", () => {
    const read = createGalaxyMapReader(world);
    for (const c of world.civilizations) expect(read(c.id)!.systems.some((s) => s.id === c.homeSystemId)).toBe(true);
    expect(read("civ-nope")).toBeNull();
  });
});

describe("leaderboard read model", () => {
  it("ranks civilizations by score, highest first, ties sharing a rank", () => {
    const board = leaderboard(world);
    expect(board).toHaveLength(world.civilizations.length);
    for (let i = 1; i < board.length; i++) {
      expect(board[i]!.score).toBeLessThanOrEqual(board[i - 1]!.score);
      expect(board[i]!.rank).toBe(board[i]!.score === board[i - 1]!.score ? board[i - 1]!.rank : i + 1);
    }
    expect(board[0]!.rank).toBe(1);
    expect(leaderboard(world, 5)).toEqual(board.slice(0, 5));
    const tied: World = { ...world, civilizations: world.civilizations.map((c) => ({ ...c, score: 7 })) };
    expect(new Set(leaderboard(tied).map((e) => e.rank))).toEqual(new Set([1]));
    expect(leaderboard(tied)[0]!.civId).toBe([...world.civilizations.map((c) => c.id)].sort()[0]);
  });
});
