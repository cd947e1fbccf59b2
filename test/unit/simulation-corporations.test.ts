import { GOOD } from "../../subgraphs/simulation/src/engine/catalog";
import { corporateUpkeep, corporations } from "../../subgraphs/simulation/src/engine/steps/corporations";
import { trade } from "../../subgraphs/simulation/src/engine/steps/trade";
import type { World } from "../../subgraphs/simulation/src/engine/model";
import { playerCiv, runSteps, smallWorld } from "./simulation-fixtures";

/** One corporation buying alloys at market A (where alice sells) for market B; stewards quiet. */
function routeWorld(): World {
  const world = generateTwoMarkets();
  for (const civ of world.civilizations) civ.stock = [150, 150, 150, 60, 40];
  const alice = playerCiv(world, "alice");
  const [a, b] = world.markets;
  alice.marketId = a!.id;
  alice.stock[GOOD.alloys] = 200; // a surplus the steward sells
  a!.neighbors = [b!.id];
  b!.neighbors = [a!.id];
  world.corporations = [
    {
      buyMarketId: a!.id, capacity: 30, costs: 0, credits: 2000, good: GOOD.alloys, homeCivId: alice.id, id: "corp-1",
      inventory: 0, name: "Test Freight", profit: 0, revenue: 0, sellMarketId: b!.id,
    },
  ];
  return world;
}

function generateTwoMarkets(): World {
  const world = smallWorld();
  if (world.markets.length < 2) world.markets.push({ ...world.markets[0]!, id: "market-x", goods: world.markets[0]!.goods.map((g) => ({ ...g })) });
  return world;
}

describe("corporations", () => {
  it("buy on their route, pay running costs (a sink), and book the loss while the cargo is in transit", () => {
    const world = routeWorld();
    const ctx = runSteps(world, [trade, corporations]);
    const corp = ctx.index.corporation.get("corp-1")!;
    const price = world.markets[0]!.goods[GOOD.alloys]!.price;
    expect(corp.inventory).toBe(30);
    expect(corp.costs).toBe(30 * price + corporateUpkeep(corp));
    expect(corp.profit).toBe(-corp.costs);
    expect(corp.credits).toBe(2000 - corp.costs);
    expect(ctx.ledger.entries()).toContainEqual({ asset: "credits", reason: "corporate_costs", amount: -corporateUpkeep(corp) });
  });

  it("sell the cargo at the other market, and a profit is taxed by the home civilization", () => {
    const world = routeWorld();
    const corp = world.corporations[0]!;
    corp.inventory = 30;
    corp.credits = 10; // cannot buy more this tick
    const bob = playerCiv(world, "bob");
    bob.marketId = world.markets[1]!.id;
    bob.stock[GOOD.alloys] = 0;
    bob.credits = 10_000; // the steward buys up to the reserve
    const alice = playerCiv(world, "alice");
    const ctx = runSteps(world, [trade, corporations]);
    const after = ctx.index.corporation.get(corp.id)!;
    const price = world.markets[1]!.goods[GOOD.alloys]!.price;
    expect(after.inventory).toBe(0);
    expect(after.revenue).toBe(30 * price);
    expect(after.profit).toBe(30 * price - corporateUpkeep(after));
    const tax = Math.floor((after.profit * alice.taxRate) / 100);
    expect(after.credits).toBe(10 + after.profit - tax);
    expect(ctx.index.civ.get(alice.id)!.credits - alice.credits).toBeGreaterThanOrEqual(tax);
  });

  it("an idle corporation moves to the good and market with the widest spread", () => {
    const world = routeWorld();
    const corp = world.corporations[0]!;
    corp.good = GOOD.food; // nobody sells food at market A: nothing to buy
    world.markets[1]!.goods[GOOD.alloys]!.price = 200;
    const ctx = runSteps(world, [trade, corporations]);
    expect(ctx.index.corporation.get(corp.id)).toMatchObject({ good: GOOD.alloys, sellMarketId: world.markets[1]!.id });
    expect(ctx.events.map((e) => e.type)).toContain("CORPORATION_REROUTED");
  });
});
