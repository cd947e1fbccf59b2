import { GOODS } from "../catalog";
import type { World } from "../model";
import { ASSETS, type Asset } from "./ledger";

/** Every holding of credits and goods in the world, summed per asset (O(civilizations + corporations)). */
export function assetTotals(world: World): Map<Asset, number> {
  let credits = 0;
  const goods = new Array<number>(GOODS.length).fill(0);
  for (const civ of world.civilizations) {
    credits += civ.credits;
    for (let g = 0; g < GOODS.length; g++) goods[g]! += civ.stock[g]!;
  }
  for (const corp of world.corporations) {
    credits += corp.credits;
    goods[corp.good]! += corp.inventory;
  }
  const totals = new Map<Asset, number>();
  totals.set("credits", credits);
  GOODS.forEach((good, g) => totals.set(good, goods[g]!));
  for (const asset of ASSETS) if (!totals.has(asset)) totals.set(asset, 0);
  return totals;
}

/** The first holding that is negative or not an integer, described; null when all are sound. */
export function firstUnsoundHolding(world: World): { asset: Asset; holder: string; amount: number } | null {
  const bad = (n: number) => !Number.isSafeInteger(n) || n < 0;
  for (const civ of world.civilizations) {
    if (bad(civ.credits)) return { asset: "credits", holder: civ.id, amount: civ.credits };
    for (let g = 0; g < GOODS.length; g++) if (bad(civ.stock[g]!)) return { asset: GOODS[g]!, holder: civ.id, amount: civ.stock[g]! };
  }
  for (const corp of world.corporations) {
    if (bad(corp.credits)) return { asset: "credits", holder: corp.id, amount: corp.credits };
    if (bad(corp.inventory)) return { asset: GOODS[corp.good]!, holder: corp.id, amount: corp.inventory };
  }
  return null;
}
