import { BUILD_ITEMS, GOOD, type BuildItem } from "../catalog";
import { canBuild } from "../commands/build";
import { canResearch } from "../commands/research";
import type { Rng } from "../core/rng";
import type { City, Civilization, Personality, Tech } from "../model";

/** What a civilization's cities make and need per tick, roughly: the AI's view of its economy. */
export interface EconomyOutlook {
  food: number;
  energy: number;
  minerals: number;
  shipyards: number;
}

export function outlook(cities: readonly City[]): EconomyOutlook {
  const o: EconomyOutlook = { food: 0, energy: 0, minerals: 0, shipyards: 0 };
  for (const c of cities) {
    const b = c.buildings;
    o.food += 2 + b.farm * 5 - Math.ceil(c.population / 4);
    o.energy += 2 + b.power_plant * 5 - (b.farm + b.mine + b.factory + b.lab + b.shipyard);
    o.minerals += 1 + b.mine * 4 - b.factory * 2;
    o.shipyards += b.shipyard;
  }
  return o;
}

const TECH_WEIGHTS: Record<Personality, Partial<Record<Tech["effect"], number>>> = {
  builder: { production: 3, stability: 2 },
  scholar: { research: 3, sensors: 1.5 },
  merchant: { trade: 3, production: 2 },
  warlord: { weapons: 3, speed: 2 },
};

/** The available technology with the best weight (for this personality) per √cost; ties go to the earlier in the tree. */
export function chooseResearch(civ: Civilization, techs: readonly Tech[]): Tech | null {
  let best: Tech | null = null;
  let bestScore = -Infinity;
  for (const tech of techs) {
    if (canResearch(civ, tech)) continue;
    const score = (TECH_WEIGHTS[civ.personality][tech.effect] ?? 1) / Math.sqrt(tech.cost);
    if (score > bestScore) {
      best = tech;
      bestScore = score;
    }
  }
  return best;
}

/** Utility of each build item for a civilization: shortages first, then its personality. */
export function buildUtilities(civ: Civilization, o: EconomyOutlook, atWar: boolean): Record<BuildItem, number> {
  const shortage = (net: number, comfortable: number) => Math.max(0, comfortable - net);
  const p = civ.personality;
  const military = (p === "warlord" ? 4 : 0.5) + (atWar ? 8 : 0);
  return {
    farm: shortage(o.food, 6) * 2,
    power_plant: shortage(o.energy, 6) * 2,
    mine: shortage(o.minerals, 12) * 1.5,
    factory: (civ.stock[GOOD.alloys]! < 100 ? 4 : 1) + (p === "builder" || p === "merchant" ? 2 : 0),
    lab: p === "scholar" ? 6 : 2,
    shipyard: o.shipyards === 0 && (p === "warlord" || atWar) ? 6 : 0,
    corvette: military,
    frigate: military * 0.9,
    cruiser: military * (civ.credits > 600 ? 1 : 0.2),
  };
}

/** The affordable item with the highest utility (plus a little seeded noise), or null. */
export function chooseBuild(civ: Civilization, city: City, utilities: Record<BuildItem, number>, rng: Rng): BuildItem | null {
  let best: BuildItem | null = null;
  let bestScore = 0.5;
  for (const item of BUILD_ITEMS) {
    const score = utilities[item] + rng.next() * 0.5;
    if (score > bestScore && canBuild(civ, city, item) === null) {
      best = item;
      bestScore = score;
    }
  }
  return best;
}
