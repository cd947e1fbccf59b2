import { BUILD_COSTS, GOOD, isBuildItem, isShipClass, MAX_QUEUE, type BuildItem } from "../catalog";
import type { City, Civilization } from "../model";
import type { TickContext } from "../tick-context";
import { reject, type Command, type Rejection } from "./command-types";
import { str } from "./payload";

/** Whether a civilization may queue `item` in `city` now, and why not. */
export function canBuild(civ: Civilization, city: City, item: BuildItem): Rejection {
  if (city.ownerId !== civ.id) return reject("NOT_OWNER", `city ${city.id} belongs to another civilization`);
  if (isShipClass(item) && city.buildings.shipyard === 0) return reject("REQUIRES_SHIPYARD", `city ${city.id} has no shipyard`);
  if (city.queue.length >= MAX_QUEUE) return reject("QUEUE_FULL", `city ${city.id} already has ${MAX_QUEUE} orders`);
  const cost = BUILD_COSTS[item];
  if (civ.credits < cost.credits || civ.stock[GOOD.minerals]! < cost.minerals || civ.stock[GOOD.alloys]! < cost.alloys) {
    return reject(
      "INSUFFICIENT_RESOURCES",
      `${item} costs ${cost.credits} credits, ${cost.minerals} minerals, ${cost.alloys} alloys`,
    );
  }
  return null;
}

/** Pays for and queues `item`; the cost leaves the world (construction sink). */
export function orderBuild(ctx: TickContext, civ: Civilization, city: City, item: BuildItem): Rejection {
  const refused = canBuild(civ, city, item);
  if (refused) return refused;
  const cost = BUILD_COSTS[item];
  civ.credits -= cost.credits;
  civ.stock[GOOD.minerals]! -= cost.minerals;
  civ.stock[GOOD.alloys]! -= cost.alloys;
  ctx.ledger.sink("credits", "construction", cost.credits);
  ctx.ledger.sink("minerals", "construction", cost.minerals);
  ctx.ledger.sink("alloys", "construction", cost.alloys);
  city.queue.push({ item, remaining: cost.work });
  return null;
}

export function applyBuild(ctx: TickContext, civ: Civilization, command: Command): Rejection {
  const cityId = str(command.payload, "cityId");
  const item = str(command.payload, "item");
  if (!cityId || !item || !isBuildItem(item)) return reject("INVALID_PAYLOAD", "BUILD needs cityId and a known item");
  const city = ctx.index.city.get(cityId);
  if (!city) return reject("NOT_FOUND", `no city ${cityId}`);
  return orderBuild(ctx, civ, city, item);
}
