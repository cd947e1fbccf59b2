import { GOODS } from "../catalog";
import type { Civilization, Corporation, Market } from "../model";
import type { TickContext, TradeOrder } from "../tick-context";
import { allocate, nextPrice } from "./market-clearing";
import type { TickStep } from "./tick-step";

/** A price move of at least this fraction is announced as PRICE_SHOCK. */
export const SHOCK_THRESHOLD = 0.2;

/**
 * Step 5: stewards and corporations put their trade routes' orders on the books (buy at one market,
 * ship and sell last tick's cargo at the other); each market clears every good at its
 * current price, pro rata (goods and credits move between holders only); then prices move
 * with supply and demand.
 */
export const trade: TickStep = {
  name: "trade",
  run(ctx) {
    for (const civ of ctx.world.civilizations) if (!civ.eliminated) postStewardOrders(ctx, civ);
    for (const corp of ctx.world.corporations) postRouteOrders(ctx, corp);
    // One order book per (market, good), in market order then good order.
    const marketIndex = new Map<string, number>();
    ctx.world.markets.forEach((m, i) => marketIndex.set(m.id, i));
    const books: TradeOrder[][] = Array.from({ length: ctx.world.markets.length * GOODS.length }, () => []);
    for (const order of ctx.orders) {
      const m = marketIndex.get(order.marketId);
      if (m !== undefined) books[m * GOODS.length + order.good]!.push(order);
    }
    ctx.world.markets.forEach((market, m) => {
      for (let g = 0; g < GOODS.length; g++) {
        const entry = market.goods[g]!;
        const { supply, demand, volume } = clear(ctx, market, g, books[m * GOODS.length + g]!);
        entry.supply = supply;
        entry.demand = demand;
        entry.volume = volume;
        const old = entry.price;
        entry.price = nextPrice(g, old, supply, demand);
        if (Math.abs(entry.price - old) >= old * SHOCK_THRESHOLD) {
          ctx.emit("PRICE_SHOCK", { marketId: market.id, good: GOODS[g]!, oldPrice: old, newPrice: entry.price });
        }
      }
    });
  },
};

/** Stock each civilization's stewards keep of each good: they sell down to it from half as much again above, and buy up to it. */
export const RESERVE: readonly number[] = [150, 150, 150, 60, 40];

/** Standing orders of every civilization (players' too): sell surplus, buy shortfalls, keep 100 credits. */
function postStewardOrders(ctx: TickContext, civ: Civilization): void {
  const market = ctx.index.market.get(civ.marketId);
  if (!market) return;
  for (let g = 0; g < GOODS.length; g++) {
    const stock = civ.stock[g]!;
    const reserve = RESERVE[g]!;
    if (stock > Math.floor(reserve * 1.5)) {
      ctx.orders.push({ holder: "civ", holderId: civ.id, marketId: market.id, good: g, side: "sell", quantity: stock - reserve, limitPrice: null });
    } else if (stock < reserve && civ.credits > 200) {
      const quantity = Math.min(reserve - stock, Math.floor((civ.credits - 100) / market.goods[g]!.price));
      if (quantity > 0) ctx.orders.push({ holder: "civ", holderId: civ.id, marketId: market.id, good: g, side: "buy", quantity, limitPrice: null });
    }
  }
}

function postRouteOrders(ctx: TickContext, corp: Corporation): void {
  corp.revenue = 0;
  corp.costs = 0;
  const buyAt = ctx.index.market.get(corp.buyMarketId);
  if (buyAt) {
    const quantity = Math.min(corp.capacity - corp.inventory, Math.floor(corp.credits / buyAt.goods[corp.good]!.price));
    if (quantity > 0) ctx.orders.push({ holder: "corp", holderId: corp.id, marketId: buyAt.id, good: corp.good, side: "buy", quantity, limitPrice: null });
  }
  if (corp.inventory > 0) {
    ctx.orders.push({ holder: "corp", holderId: corp.id, marketId: corp.sellMarketId, good: corp.good, side: "sell", quantity: corp.inventory, limitPrice: null });
  }
}

/**
 * What a holder can actually deliver or pay for now (orders were checked when given, but
 * holdings move): its holding less what its earlier orders in this book already claimed.
 */
function capacity(ctx: TickContext, order: TradeOrder, price: number, claimed: Map<object, number>): number {
  let holding = 0;
  let holder: object | undefined;
  if (order.holder === "civ") {
    const civ = (holder = ctx.index.civ.get(order.holderId));
    if (civ) holding = order.side === "sell" ? civ.stock[order.good]! : civ.credits;
  } else {
    const corp = (holder = ctx.index.corporation.get(order.holderId));
    if (corp && corp.good === order.good) holding = order.side === "sell" ? corp.inventory : corp.credits;
  }
  if (!holder) return 0;
  const used = claimed.get(holder) ?? 0;
  const quantity = Math.max(0, Math.min(order.quantity, order.side === "sell" ? holding - used : Math.floor((holding - used) / price)));
  claimed.set(holder, used + (order.side === "sell" ? quantity : quantity * price));
  return quantity;
}

function settle(ctx: TickContext, order: TradeOrder, quantity: number, price: number): void {
  if (quantity === 0) return;
  const sign = order.side === "buy" ? 1 : -1;
  const paid = quantity * price;
  if (order.holder === "civ") {
    const civ = ctx.index.civ.get(order.holderId)!;
    civ.stock[order.good]! += sign * quantity;
    civ.credits -= sign * paid;
  } else {
    const corp = ctx.index.corporation.get(order.holderId)!;
    corp.inventory += sign * quantity;
    corp.credits -= sign * paid;
    if (sign > 0) corp.costs += paid;
    else corp.revenue += paid;
  }
}

function clear(ctx: TickContext, market: Market, good: number, book: readonly TradeOrder[]): { supply: number; demand: number; volume: number } {
  const price = market.goods[good]!.price;
  const sells: TradeOrder[] = [];
  const buys: TradeOrder[] = [];
  const sellWants: number[] = [];
  const buyWants: number[] = [];
  if (book.length === 0) return { supply: 0, demand: 0, volume: 0 };
  // What each holder's earlier orders in this book already claimed, for sells and buys apart.
  const claimedGoods = new Map<object, number>();
  const claimedCredits = new Map<object, number>();
  for (const order of book) {
    if (order.side === "sell" && (order.limitPrice === null || order.limitPrice <= price)) {
      sells.push(order);
      sellWants.push(capacity(ctx, order, price, claimedGoods));
    } else if (order.side === "buy" && (order.limitPrice === null || order.limitPrice >= price)) {
      buys.push(order);
      buyWants.push(capacity(ctx, order, price, claimedCredits));
    }
  }
  const supply = sellWants.reduce((s, q) => s + q, 0);
  const demand = buyWants.reduce((s, q) => s + q, 0);
  const volume = Math.min(supply, demand);
  if (volume > 0) {
    allocate(sellWants, volume).forEach((q, i) => settle(ctx, sells[i]!, q, price));
    allocate(buyWants, volume).forEach((q, i) => settle(ctx, buys[i]!, q, price));
  }
  return { supply, demand, volume };
}
