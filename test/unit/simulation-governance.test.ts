import { governance, UNREST_BELOW } from "../../subgraphs/simulation/src/engine/steps/governance";
import { citiesOf, fleetsOf, playerCiv, runSteps, setRelation, smallWorld } from "./simulation-fixtures";

describe("governance: taxes, upkeep, stability", () => {
  it("collects tax on population (a credits source) and charges fleet upkeep (a credits sink)", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    alice.taxRate = 30;
    const population = citiesOf(world, alice).reduce((s, c) => s + c.population, 0);
    const ctx = runSteps(world, [governance]);
    const tax = Math.floor((population * 30) / 100);
    const upkeep = Math.ceil(fleetsOf(world, alice).reduce((s, f) => s + f.ships[0]! * 1 + f.ships[1]! * 2 + f.ships[2]! * 4, 0) / 2);
    expect(ctx.index.civ.get(alice.id)!.credits).toBe(alice.credits + tax - upkeep);
    expect(ctx.ledger.entries()).toEqual(
      expect.arrayContaining([
        { asset: "credits", reason: "taxation", amount: expect.any(Number) },
        { asset: "credits", reason: "upkeep", amount: expect.any(Number) },
      ]),
    );
  });

  it("high taxes and war pull stability down; low taxes lift it; it moves at most 3 a tick", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    alice.taxRate = 50;
    bob.taxRate = 0;
    alice.stability = bob.stability = 60;
    setRelation(world, alice.id, world.civilizations.find((c) => c.playerId === null)!.id, { atWar: true });
    const ctx = runSteps(world, [governance]);
    expect(ctx.index.civ.get(alice.id)!.stability).toBe(57);
    expect(ctx.index.civ.get(bob.id)!.stability).toBe(63);
  });

  it("announces unrest when stability falls below the threshold", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    alice.taxRate = 50;
    alice.stability = UNREST_BELOW + 1;
    for (const enemy of world.civilizations.filter((c) => c.playerId === null)) setRelation(world, alice.id, enemy.id, { atWar: true });
    const ctx = runSteps(world, [governance]);
    expect(ctx.events).toContainEqual({ type: "CIVILIZATION_UNREST", tick: 1, data: { civId: alice.id, stability: UNREST_BELOW - 2 } });
  });

  it("a civilization that cannot pay its fleets pays what it has and loses stability", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    for (const civ of [alice, bob]) {
      civ.taxRate = 0;
      civ.stability = 80;
    }
    alice.credits = 0;
    const ctx = runSteps(world, [governance]);
    expect(ctx.index.civ.get(alice.id)!.credits).toBe(0);
    expect(ctx.index.civ.get(alice.id)!.stability).toBe(77);
    expect(ctx.index.civ.get(bob.id)!.stability).toBe(80);
  });
});
