import { BUILD_COSTS, GOOD } from "../../subgraphs/simulation/src/engine/catalog";
import { production } from "../../subgraphs/simulation/src/engine/steps/production";
import { tick } from "../../subgraphs/simulation/src/engine/tick";
import { citiesOf, command, fleetsOf, playerCiv, runSteps, smallWorld } from "./simulation-fixtures";

describe("production and queues", () => {
  it("cities add food, energy and minerals to their civilization's stock, recorded as production", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    for (const c of citiesOf(world, alice)) c.population = 1; // eats almost nothing
    const ctx = runSteps(world, [production]);
    const after = ctx.index.civ.get(alice.id)!;
    expect(after.stock[GOOD.minerals]).toBeGreaterThan(alice.stock[GOOD.minerals]! - 10);
    expect(ctx.ledger.entries().filter((e) => e.reason === "production").map((e) => e.asset)).toEqual(
      expect.arrayContaining(["food", "energy", "minerals"]),
    );
  });

  it("more farms feed more people: a city without food starves and shrinks, a fed one grows", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    alice.stock[GOOD.food] = 0;
    for (const c of citiesOf(world, alice)) c.buildings.farm = 0;
    const [hungry] = citiesOf(world, alice);
    const [fed] = citiesOf(world, bob);
    hungry!.population = 60;
    fed!.population = 30;
    const ctx = runSteps(world, [production]);
    expect(ctx.index.city.get(hungry!.id)).toMatchObject({ starving: true, population: 57 });
    expect(ctx.index.city.get(fed!.id)).toMatchObject({ starving: false, population: 31 });
  });

  it("a building is finished once the city has put in its work, then counted", () => {
    let world = smallWorld();
    const alice = playerCiv(world, "alice");
    const city = citiesOf(world, alice)[0]!;
    const farms = city.buildings.farm;
    world = tick(world, [command(alice.id, "BUILD", { cityId: city.id, item: "farm" })]).world;
    let finishedAt = 0;
    for (let t = 2; t < 10 && !finishedAt; t++) {
      const outcome = tick(world);
      world = outcome.world;
      if (outcome.events.some((e) => e.type === "BUILD_COMPLETED" && e.data.cityId === city.id && e.data.item === "farm")) finishedAt = t;
    }
    const work = 2 + city.buildings.factory * 2;
    expect(finishedAt).toBe(Math.ceil(BUILD_COSTS.farm.work / work));
    expect(world.cities.find((c) => c.id === city.id)!.buildings.farm).toBeGreaterThanOrEqual(farms + 1);
  });

  it("a finished ship joins the owner's fleet docked in the city's system", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const city = citiesOf(world, alice)[0]!;
    city.queue.push({ item: "cruiser", remaining: 1 });
    const docked = fleetsOf(world, alice)[0]!;
    const ctx = runSteps(world, [production]);
    expect(ctx.index.fleet.get(docked.id)!.ships[2]).toBe(docked.ships[2]! + 1);
    expect(ctx.world.fleets).toHaveLength(world.fleets.length);
  });

  it("a ship with no fleet at home forms a new fleet", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const city = citiesOf(world, alice)[0]!;
    city.queue.push({ item: "corvette", remaining: 1 });
    world.fleets = world.fleets.filter((f) => f.ownerId !== alice.id);
    const ctx = runSteps(world, [production]);
    const fleets = ctx.world.fleets.filter((f) => f.ownerId === alice.id);
    expect(fleets).toHaveLength(1);
    expect(fleets[0]).toMatchObject({ systemId: city.systemId, ships: [1, 0, 0] });
    expect(fleets[0]!.id).toMatch(/^fleet-\d+$/);
    expect(world.fleets.some((f) => f.id === fleets[0]!.id)).toBe(false);
  });

  it("research completes when progress reaches the technology's cost", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    alice.researchId = "tech-sensors";
    alice.researchProgress = 49;
    const ctx = runSteps(world, [production]);
    expect(ctx.index.civ.get(alice.id)).toMatchObject({ researchId: null, researchProgress: 0, techs: ["tech-sensors"] });
    expect(ctx.events).toContainEqual({ type: "RESEARCH_COMPLETED", tick: 1, data: { civId: alice.id, techId: "tech-sensors" } });
  });
});

describe("each civilization's output (what analytics records per tick)", () => {
  it("is the goods its cities produced: together, exactly what the tick's ledger records as production", () => {
    const world = smallWorld();
    const alice = playerCiv(world, "alice");
    const outcome = tick(world);
    const produced = outcome.ledger.filter((e) => e.reason === "production" && e.amount > 0).reduce((sum, e) => sum + e.amount, 0);
    expect(produced).toBeGreaterThan(0);
    expect([...outcome.output.values()].reduce((sum, n) => sum + n, 0)).toBe(produced);
    expect(outcome.output.get(alice.id)).toBeGreaterThan(0);
    // A civilization without cities makes nothing; more farms make more.
    const richer = smallWorld();
    for (const c of citiesOf(richer, playerCiv(richer, "alice"))) c.buildings.farm += 3;
    expect(tick(richer).output.get(alice.id)).toBeGreaterThan(outcome.output.get(alice.id)!);
    const landless = smallWorld();
    const lost = playerCiv(landless, "alice");
    landless.cities = landless.cities.filter((c) => c.ownerId !== lost.id);
    expect(tick(landless).output.get(lost.id) ?? 0).toBe(0);
  });
});
