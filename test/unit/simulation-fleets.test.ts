import { SHIP_STATS } from "../../subgraphs/simulation/src/engine/catalog";
import { sfc32 } from "../../subgraphs/simulation/src/engine/core/rng";
import type { Fleet, World } from "../../subgraphs/simulation/src/engine/model";
import { combat, fight } from "../../subgraphs/simulation/src/engine/steps/combat";
import { fleetMovement } from "../../subgraphs/simulation/src/engine/steps/fleet-movement";
import { tick } from "../../subgraphs/simulation/src/engine/tick";
import { command, fleetsOf, playerCiv, runSteps, setRelation, smallWorld } from "./simulation-fixtures";

const distance = (world: World, from: string, to: string) => {
  const a = world.systems.find((s) => s.id === from)!;
  const b = world.systems.find((s) => s.id === to)!;
  return Math.hypot(b.x - a.x, b.y - a.y);
};
const fleet = (ownerId: string, ships: number[], systemId: string): Fleet => ({
  destinationId: null, id: `f-${ownerId}-${ships.join("")}`, name: "test", ownerId, ships, systemId, vx: 0, vy: 0, x: 0, y: 0,
});

describe("fleet movement", () => {
  it("flies a straight line at its speed and arrives after ceil(distance / speed) ticks", () => {
    let world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const f = fleetsOf(world, alice)[0]!;
    const speed = Math.min(...f.ships.map((n, c) => (n > 0 ? SHIP_STATS[c]!.speed : Infinity)));
    const expected = Math.ceil(distance(world, alice.homeSystemId, bob.homeSystemId) / speed);
    world = tick(world, [command(alice.id, "MOVE_FLEET", { fleetId: f.id, systemId: bob.homeSystemId })]).world;
    let moving = world.fleets.find((x) => x.id === f.id)!;
    expect(moving.systemId).toBeNull();
    expect(Math.hypot(moving.vx, moving.vy)).toBeCloseTo(speed, 9);
    let arrivedAt = expected === 1 ? 1 : 0;
    for (let t = 2; t <= expected + 2 && !arrivedAt; t++) {
      const outcome = tick(world);
      world = outcome.world;
      if (outcome.events.some((e) => e.type === "FLEET_ARRIVED" && e.data.fleetId === f.id)) arrivedAt = t;
    }
    expect(arrivedAt).toBe(expected);
    moving = world.fleets.find((x) => x.id === f.id)!;
    expect(moving).toMatchObject({ systemId: bob.homeSystemId, destinationId: null, vx: 0, vy: 0 });
  });

  it("leaves idle fleets where they are", () => {
    const world = smallWorld();
    const ctx = runSteps(world, [fleetMovement]);
    expect(ctx.world.fleets.map((f) => [f.x, f.y, f.systemId])).toEqual(world.fleets.map((f) => [f.x, f.y, f.systemId]));
  });
});

describe("combat", () => {
  it("the weaker side loses more ships and the battle", () => {
    const strong = { fleets: [fleet("a", [10, 5, 2], "s")], weapons: 0 };
    const weak = { fleets: [fleet("b", [4, 1, 0], "s")], weapons: 0 };
    const result = fight(strong, weak, sfc32(1, 2, 3, 4));
    expect(result.winner).toBe("a");
    expect(result.lossesB).toBeGreaterThan(result.lossesA);
  });

  it("weapons technology turns an even fight", () => {
    const wins = { a: 0, b: 0 };
    for (let seed = 0; seed < 20; seed++) {
      const a = { fleets: [fleet("a", [6, 3, 1], "s")], weapons: 0 };
      const b = { fleets: [fleet("b", [6, 3, 1], "s")], weapons: 40 };
      wins[fight(a, b, sfc32(seed, 7, 7, 7)).winner] += 1;
    }
    expect(wins.b).toBeGreaterThan(wins.a);
  });

  it("happens only between civilizations at war that share a system; the loser's survivors retreat home", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const home = bob.homeSystemId;
    const raiders = fleetsOf(world, alice)[0]!;
    Object.assign(raiders, { systemId: home, ships: [1, 0, 0] });
    for (const f of fleetsOf(world, bob)) f.ships = [10, 5, 2];

    const peaceful = runSteps(world, [combat]);
    expect(peaceful.events.filter((e) => e.type === "BATTLE_RESOLVED")).toHaveLength(0);

    setRelation(world, alice.id, bob.id, { atWar: true });
    const ctx = runSteps(world, [combat]);
    const battle = ctx.events.find((e) => e.type === "BATTLE_RESOLVED")!;
    expect(battle.data).toMatchObject({ systemId: home, winnerId: bob.id, loserId: alice.id, loserLosses: 1 });
    expect(ctx.index.fleet.has(raiders.id)).toBe(false);
    expect(ctx.events).toContainEqual({ type: "FLEET_DESTROYED", tick: 1, data: { fleetId: raiders.id, civId: alice.id } });
  });

  it("survivors of a lost battle head home", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const raiders = fleetsOf(world, alice)[0]!;
    Object.assign(raiders, { systemId: bob.homeSystemId, ships: [0, 0, 6] });
    for (const f of fleetsOf(world, bob)) f.ships = [30, 10, 4];
    setRelation(world, alice.id, bob.id, { atWar: true });
    const ctx = runSteps(world, [combat]);
    const survivor = ctx.index.fleet.get(raiders.id);
    if (survivor) expect(survivor.destinationId).toBe(alice.homeSystemId);
    expect(ctx.events.find((e) => e.type === "BATTLE_RESOLVED")!.data.winnerId).toBe(bob.id);
  });
});
