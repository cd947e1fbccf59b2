import { GOODS } from "../catalog";
import type { Corporation, Market } from "../model";
import { bonusPercent, percentOf, type TickContext } from "../tick-context";
import type { TickStep } from "./tick-step";

/** Fixed running cost per tick, plus one credit per ten units of capacity. */
export const corporateUpkeep = (corp: Corporation): number => 5 + Math.floor(corp.capacity / 10);
/** Below this many credits, a corporation looks for a better route. */
const REROUTE_BELOW = 300;
const BASE_CAPACITY = 30;

/**
 * Step 6: profit and loss. Revenue and purchases were booked by the trade step; here the
 * running costs leave the world (sink), the home civilization taxes a profit (a transfer),
 * and an idle or struggling corporation moves to the widest price spread among
 * neighboring markets for a good its home market has in surplus.
 */
export const corporations: TickStep = {
  name: "corporations",
  run(ctx) {
    for (const corp of ctx.world.corporations) {
      const upkeep = Math.min(corp.credits, corporateUpkeep(corp));
      corp.credits -= upkeep;
      corp.costs += upkeep;
      ctx.ledger.sink("credits", "corporate_costs", upkeep);
      corp.profit = corp.revenue - corp.costs;

      const home = ctx.index.civ.get(corp.homeCivId);
      if (home && corp.profit > 0) {
        const tax = Math.min(corp.credits, percentOf(corp.profit, home.taxRate));
        corp.credits -= tax;
        home.credits += tax;
      }
      if (home) corp.capacity = BASE_CAPACITY + percentOf(BASE_CAPACITY, bonusPercent(ctx, home, "trade"));
      if (corp.inventory === 0 && (corp.revenue === 0 || corp.credits < REROUTE_BELOW)) reroute(ctx, corp);
    }
  },
};

/** Among goods left unsold at the home market, the widest spread to a neighboring market. */
function reroute(ctx: TickContext, corp: Corporation): void {
  const from = ctx.index.market.get(corp.buyMarketId);
  if (!from) return;
  let best: { market: Market; good: number; spread: number } | null = null;
  for (const id of from.neighbors) {
    const to = ctx.index.market.get(id);
    if (!to) continue;
    for (let g = 0; g < GOODS.length; g++) {
      if (from.goods[g]!.supply <= from.goods[g]!.volume) continue;
      const spread = to.goods[g]!.price - from.goods[g]!.price;
      if (!best || spread > best.spread) best = { market: to, good: g, spread };
    }
  }
  if (!best || best.spread <= 0 || (best.market.id === corp.sellMarketId && best.good === corp.good)) return;
  corp.sellMarketId = best.market.id;
  corp.good = best.good;
  ctx.emit("CORPORATION_REROUTED", { corporationId: corp.id, toMarketId: best.market.id, good: GOODS[best.good]! });
}
