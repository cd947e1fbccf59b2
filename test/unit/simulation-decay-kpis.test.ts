import { modifierDecay } from "../../subgraphs/simulation/src/engine/steps/modifier-decay";
import { civScore, kpis } from "../../subgraphs/simulation/src/engine/steps/kpis";
import { production } from "../../subgraphs/simulation/src/engine/steps/production";
import { aiCivs, citiesOf, playerCiv, runSteps, smallWorld } from "./simulation-fixtures";

describe("modifier decay", () => {
  it("counts temporary modifiers down and removes them when they run out", () => {
    const world = smallWorld();
    const ai = aiCivs(world)[0]!;
    world.modifiers = [
      { id: "mod-1", kind: "production", magnitude: 20, remainingTicks: 1, source: "advice", targetId: ai.id },
      { id: "mod-2", kind: "stability", magnitude: -5, remainingTicks: 3, source: "event", targetId: ai.id },
    ];
    const ctx = runSteps(world, [modifierDecay]);
    expect(ctx.world.modifiers).toEqual([{ id: "mod-2", kind: "stability", magnitude: -5, remainingTicks: 2, source: "event", targetId: ai.id }]);
    expect(ctx.modifiersByTarget.get(ai.id)).toHaveLength(1);
  });

  it("a production modifier raises output while it lasts", () => {
    const world = smallWorld();
    const ai = aiCivs(world)[0]!;
    const base = runSteps(world, [production]).ledger.net("minerals");
    world.modifiers = [{ id: "mod-1", kind: "production", magnitude: 25, remainingTicks: 2, source: "advice", targetId: ai.id }];
    expect(runSteps(world, [production]).ledger.net("minerals")).toBeGreaterThan(base);
  });
});

describe("KPIs and score", () => {
  it("scores people, technology, wealth, ships, buildings and stability", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const cities = citiesOf(world, alice);
    const base = civScore(alice, cities, 10);
    expect(civScore({ ...alice, techs: ["tech-fusion"] }, cities, 10)).toBe(base + 100);
    expect(civScore(alice, cities, 11)).toBe(base + 5);
    expect(civScore({ ...alice, credits: alice.credits + 100 }, cities, 10)).toBe(base + 10);
  });

  it("writes every civilization's score and the world's totals", () => {
    const world = smallWorld();
    const ctx = runSteps(world, [kpis]);
    for (const civ of ctx.world.civilizations) expect(civ.score).toBeGreaterThan(0);
    expect(ctx.world.kpis.population).toBe(world.cities.reduce((s, c) => s + c.population, 0));
    expect(ctx.world.kpis.ships).toBe(world.fleets.reduce((s, f) => s + f.ships.reduce((a, b) => a + b, 0), 0));
    expect(ctx.world.kpis.credits).toBe(world.civilizations.reduce((s, c) => s + c.credits, 0) + world.corporations.reduce((s, c) => s + c.credits, 0));
  });
});
