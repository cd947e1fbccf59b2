import { GOOD, PRICE_BANDS } from "../../subgraphs/simulation/src/engine/catalog";
import { allocate, nextPrice } from "../../subgraphs/simulation/src/engine/steps/market-clearing";
import { trade } from "../../subgraphs/simulation/src/engine/steps/trade";
import { applyCommands } from "../../subgraphs/simulation/src/engine/steps/apply-commands";
import { assetTotals } from "../../subgraphs/simulation/src/engine/core/asset-totals";
import type { World } from "../../subgraphs/simulation/src/engine/model";
import { command, playerCiv, runSteps, smallWorld } from "./simulation-fixtures";

/** Alice and Bob on one market, every steward quiet (stocks at reserve), corporations idle. */
function quietMarket(): World {
  const world = smallWorld();
  for (const civ of world.civilizations) {
    civ.stock = [150, 150, 150, 60, 40];
    civ.credits = 5000;
    civ.marketId = world.markets[0]!.id;
  }
  world.corporations = [];
  return world;
}

describe("market clearing", () => {
  it("allocates in proportion, in integers, summing exactly to the volume", () => {
    expect(allocate([10, 20, 30], 30)).toEqual([5, 10, 15]);
    const shares = allocate([7, 7, 7], 10);
    expect(shares.reduce((s, x) => s + x, 0)).toBe(10);
    expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
    expect(allocate([3, 0, 5], 8)).toEqual([3, 0, 5]);
    expect(allocate([0, 0], 0)).toEqual([0, 0]);
  });

  it("prices rise when demand exceeds supply, fall when supply exceeds demand, and stay in the band", () => {
    const food = GOOD.food;
    expect(nextPrice(food, 10, 10, 100)).toBeGreaterThan(10);
    expect(nextPrice(food, 10, 100, 10)).toBeLessThan(10);
    expect(nextPrice(food, 10, 50, 50)).toBe(10);
    expect(nextPrice(food, 10, 0, 3)).toBe(11); // even a small unmet demand moves a price
    expect(nextPrice(food, PRICE_BANDS[food]!.max, 0, 10_000)).toBe(PRICE_BANDS[food]!.max);
    expect(nextPrice(food, PRICE_BANDS[food]!.min, 10_000, 0)).toBe(PRICE_BANDS[food]!.min);
    expect(nextPrice(food, 30, 0, 0)).toBeLessThan(30); // drifts back toward the base price
  });
});

describe("the trade step", () => {
  it("matches a seller and a buyer at the market price: goods and credits change hands, totals do not change", () => {
    const world = quietMarket();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const price = world.markets[0]!.goods[GOOD.alloys]!.price;
    const before = assetTotals(world);
    const ctx = runSteps(
      world,
      [applyCommands, trade],
      [command(alice.id, "TRADE_ORDER", { good: "alloys", side: "sell", quantity: 20 }), command(bob.id, "TRADE_ORDER", { good: "alloys", side: "buy", quantity: 30 })],
    );
    expect(ctx.index.civ.get(alice.id)).toMatchObject({ credits: alice.credits + 20 * price });
    expect(ctx.index.civ.get(alice.id)!.stock[GOOD.alloys]).toBe(40);
    expect(ctx.index.civ.get(bob.id)).toMatchObject({ credits: bob.credits - 20 * price });
    expect(ctx.index.civ.get(bob.id)!.stock[GOOD.alloys]).toBe(80);
    expect(ctx.world.markets[0]!.goods[GOOD.alloys]).toMatchObject({ supply: 20, demand: 30, volume: 20 });
    expect(ctx.world.markets[0]!.goods[GOOD.alloys]!.price).toBeGreaterThan(price); // demand exceeded supply
    expect(assetTotals(ctx.world)).toEqual(before);
  });

  it("a limit price keeps an order out of the book when the market price is worse", () => {
    const world = quietMarket();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const price = world.markets[0]!.goods[GOOD.alloys]!.price;
    const ctx = runSteps(
      world,
      [applyCommands, trade],
      [
        command(alice.id, "TRADE_ORDER", { good: "alloys", side: "sell", quantity: 20, limitPrice: price + 1 }),
        command(bob.id, "TRADE_ORDER", { good: "alloys", side: "buy", quantity: 30 }),
      ],
    );
    expect(ctx.world.markets[0]!.goods[GOOD.alloys]).toMatchObject({ supply: 0, demand: 30, volume: 0 });
    expect(ctx.index.civ.get(bob.id)!.stock[GOOD.alloys]).toBe(60);
  });

  it("a holder cannot sell the same stock twice in one tick", () => {
    const world = quietMarket();
    const alice = playerCiv(world, "alice");
    const bob = playerCiv(world, "bob");
    const ctx = runSteps(
      world,
      [applyCommands, trade],
      [
        command(alice.id, "TRADE_ORDER", { good: "alloys", side: "sell", quantity: 60 }),
        command(alice.id, "TRADE_ORDER", { good: "alloys", side: "sell", quantity: 60 }),
        command(bob.id, "TRADE_ORDER", { good: "alloys", side: "buy", quantity: 200 }),
      ],
    );
    expect(ctx.world.markets[0]!.goods[GOOD.alloys]).toMatchObject({ supply: 60, volume: 60 });
    expect(ctx.index.civ.get(alice.id)!.stock[GOOD.alloys]).toBe(0);
  });

  it("stewards sell a surplus by themselves, and a sharp move is announced as PRICE_SHOCK", () => {
    const world = quietMarket();
    const alice = playerCiv(world, "alice");
    alice.stock[GOOD.minerals] = 5000;
    const ctx = runSteps(world, [trade]);
    const minerals = ctx.world.markets[0]!.goods[GOOD.minerals]!;
    expect(minerals.supply).toBe(5000 - 150);
    expect(minerals.price).toBeLessThan(PRICE_BANDS[GOOD.minerals]!.base);
    expect(ctx.events).toContainEqual({
      type: "PRICE_SHOCK",
      tick: 1,
      data: { marketId: world.markets[0]!.id, good: "minerals", oldPrice: PRICE_BANDS[GOOD.minerals]!.base, newPrice: minerals.price },
    });
  });
});
