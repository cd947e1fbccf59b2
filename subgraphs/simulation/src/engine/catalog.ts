/** The game's fixed data: goods, buildings, ships, species, planet types, policies. */

export const GOODS = ["food", "energy", "minerals", "alloys", "consumer_goods"] as const;
export type Good = (typeof GOODS)[number];
export const GOOD = { food: 0, energy: 1, minerals: 2, alloys: 3, consumer_goods: 4 } as const satisfies Record<Good, number>;
/** Quantity per good, indexed like GOODS. */
export type GoodStock = number[];

/** Starting price and the band a price may move in (credits per unit). */
export const PRICE_BANDS: readonly { base: number; min: number; max: number }[] = [
  { base: 10, min: 2, max: 100 },
  { base: 12, min: 2, max: 120 },
  { base: 15, min: 3, max: 150 },
  { base: 40, min: 8, max: 400 },
  { base: 30, min: 6, max: 300 },
];

export const SPECIES = ["humans", "zenari", "kraal", "sylph", "vorn", "aquari", "mechanid", "drakes"] as const;

export const PLANET_TYPES: readonly { type: string; habitability: number }[] = [
  { type: "terran", habitability: 90 },
  { type: "ocean", habitability: 70 },
  { type: "desert", habitability: 45 },
  { type: "arid", habitability: 55 },
  { type: "tundra", habitability: 40 },
  { type: "ice", habitability: 15 },
  { type: "barren", habitability: 5 },
  { type: "gas_giant", habitability: 0 },
];

export const BUILDING_KINDS = ["farm", "mine", "power_plant", "factory", "lab", "shipyard"] as const;
export type BuildingKind = (typeof BUILDING_KINDS)[number];

export const SHIP_CLASSES = ["corvette", "frigate", "cruiser"] as const;
export type ShipClass = (typeof SHIP_CLASSES)[number];

export interface ShipStats {
  attack: number;
  hull: number;
  speed: number;
  upkeep: number;
}
/** Indexed like SHIP_CLASSES. */
export const SHIP_STATS: readonly ShipStats[] = [
  { attack: 1, hull: 3, speed: 3, upkeep: 1 },
  { attack: 3, hull: 6, speed: 2, upkeep: 2 },
  { attack: 8, hull: 15, speed: 1.5, upkeep: 4 },
];

export interface BuildCost {
  credits: number;
  minerals: number;
  alloys: number;
  /** Work points the city's queue must spend. */
  work: number;
}
export const BUILD_COSTS: Readonly<Record<BuildingKind | ShipClass, BuildCost>> = {
  farm: { credits: 40, minerals: 20, alloys: 0, work: 6 },
  mine: { credits: 40, minerals: 10, alloys: 0, work: 6 },
  power_plant: { credits: 50, minerals: 25, alloys: 0, work: 8 },
  factory: { credits: 80, minerals: 40, alloys: 0, work: 10 },
  lab: { credits: 70, minerals: 30, alloys: 5, work: 10 },
  shipyard: { credits: 120, minerals: 60, alloys: 10, work: 14 },
  corvette: { credits: 30, minerals: 10, alloys: 5, work: 4 },
  frigate: { credits: 60, minerals: 20, alloys: 15, work: 8 },
  cruiser: { credits: 150, minerals: 40, alloys: 40, work: 16 },
};
export const BUILD_ITEMS = [...BUILDING_KINDS, ...SHIP_CLASSES] as const;
export type BuildItem = BuildingKind | ShipClass;
export const MAX_QUEUE = 5;

export const isShipClass = (item: string): item is ShipClass => (SHIP_CLASSES as readonly string[]).includes(item);
export const isBuildItem = (item: string): item is BuildItem => (BUILD_ITEMS as readonly string[]).includes(item);

/** Percent multipliers a policy applies, and what it does to stability's target. */
export const POLICIES = {
  balanced: { production: 100, research: 100, work: 100, stability: 0 },
  industry: { production: 120, research: 90, work: 110, stability: -5 },
  research: { production: 90, research: 130, work: 100, stability: 0 },
  military: { production: 100, research: 90, work: 130, stability: -8 },
} as const;

export const MAX_TAX_RATE = 50;
/** LLM advice and events may only nudge: |magnitude| and duration are capped. */
export const MODIFIER_BOUNDS = { magnitude: 25, ticks: 20, perCivilization: 3 } as const;

export const BASE_SENSOR_RANGE = 15;
export const CHARACTER_ROLES = ["leader", "diplomat", "admiral", "trader"] as const;
export const CHARACTER_TRAITS = ["cautious", "bold", "greedy", "loyal", "brilliant", "ruthless", "charming", "stubborn"] as const;

/** XP to go from `level` to level + 1: 1000 × level^1.5 (the original design). */
export const xpForLevel = (level: number): number => Math.round(1000 * level * Math.sqrt(level));
export function levelForXp(xp: number): number {
  let level = 1;
  let needed = xpForLevel(1);
  while (xp >= needed && level < 100) {
    level += 1;
    needed += xpForLevel(level);
  }
  return level;
}
