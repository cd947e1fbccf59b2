import { GOOD, GOODS, type Good } from "../catalog";
import type { Civilization } from "../model";
import type { TickContext } from "../tick-context";
import { reject, type Command, type Rejection } from "./command-types";
import { int, str } from "./payload";

const MAX_ORDER = 1_000_000;

/**
 * An order for this tick's clearing. A civilization trades at its own market; trading at
 * another market needs a trade treaty or alliance with a civilization based there.
 */
export function applyTradeOrder(ctx: TickContext, civ: Civilization, command: Command): Rejection {
  const goodName = str(command.payload, "good");
  const side = str(command.payload, "side");
  const quantity = int(command.payload, "quantity", 1, MAX_ORDER);
  const limitPrice = command.payload.limitPrice === undefined ? null : int(command.payload, "limitPrice", 1, MAX_ORDER);
  if (!goodName || !(GOODS as readonly string[]).includes(goodName) || (side !== "buy" && side !== "sell") || quantity === undefined || limitPrice === undefined) {
    return reject("INVALID_PAYLOAD", "TRADE_ORDER needs good, side (buy|sell), quantity (1..1e6) and optionally limitPrice");
  }
  const good = GOOD[goodName as Good];
  const marketId = str(command.payload, "marketId") ?? civ.marketId;
  const market = ctx.index.market.get(marketId);
  if (!market) return reject("NOT_FOUND", `no market ${marketId}`);
  if (marketId !== civ.marketId && !hasTradeAccess(ctx, civ, marketId)) {
    return reject("TREATY_FORBIDS", `trading at ${marketId} needs a trade treaty with a civilization based there`);
  }
  const price = market.goods[good]!.price;
  if (side === "sell" && civ.stock[good]! < quantity) return reject("INSUFFICIENT_RESOURCES", `only ${civ.stock[good]} ${goodName} in stock`);
  if (side === "buy" && civ.credits < (limitPrice ?? price)) return reject("INSUFFICIENT_RESOURCES", `cannot pay for one unit of ${goodName}`);
  ctx.orders.push({ holder: "civ", holderId: civ.id, marketId, good, side, quantity, limitPrice });
  return null;
}

function hasTradeAccess(ctx: TickContext, civ: Civilization, marketId: string): boolean {
  for (const r of ctx.index.relationsByCiv.get(civ.id) ?? []) {
    if (r.treaty !== "trade" && r.treaty !== "alliance") continue;
    const other = ctx.index.civ.get(r.a === civ.id ? r.b : r.a);
    if (other?.marketId === marketId) return true;
  }
  return false;
}
