/**
 * The world as plain data: one object per campaign, arrays of entities, references by id.
 * Goods and credits are integers so the conservation ledger is exact; only positions and
 * velocities are fractional. Every key here must also appear in WORLD_KEYS (hash.ts).
 */
import type { GoodStock } from "./catalog";

export type Id = string;

export type Policy = "balanced" | "industry" | "research" | "military";
export type Personality = "builder" | "scholar" | "merchant" | "warlord";
export type Treaty = "none" | "trade" | "non_aggression" | "alliance";
export type CharacterRole = "leader" | "diplomat" | "admiral" | "trader";
export type ModifierKind = "production" | "research" | "stability" | "trade";

export interface Civilization {
  id: Id;
  name: string;
  species: string;
  /** Null for an AI civilization. */
  playerId: string | null;
  personality: Personality;
  homeSystemId: Id;
  marketId: Id;
  /** Nearest other civilizations (by home system), fixed at generation: the AI's horizon. */
  neighbors: Id[];
  credits: number;
  /** Stock per good, indexed like GOODS. */
  stock: GoodStock;
  techs: Id[];
  researchId: Id | null;
  researchProgress: number;
  /** Percent of population income taken as tax, 0..50. */
  taxRate: number;
  policy: Policy;
  /** 0..100. */
  stability: number;
  score: number;
  eliminated: boolean;
}

export interface StarSystem {
  id: Id;
  name: string;
  x: number;
  y: number;
  planetIds: Id[];
}

export interface Planet {
  id: Id;
  systemId: Id;
  name: string;
  type: string;
  /** 0..100. */
  habitability: number;
}

export interface BuildOrder {
  item: string;
  /** Work points still needed. */
  remaining: number;
}

export interface Buildings {
  farm: number;
  mine: number;
  power_plant: number;
  factory: number;
  lab: number;
  shipyard: number;
}

export interface City {
  id: Id;
  name: string;
  planetId: Id;
  systemId: Id;
  ownerId: Id;
  population: number;
  buildings: Buildings;
  queue: BuildOrder[];
  starving: boolean;
}

/** Ships per class, indexed like SHIP_CLASSES. */
export type ShipCounts = number[];

export interface Fleet {
  id: Id;
  name: string;
  ownerId: Id;
  ships: ShipCounts;
  x: number;
  y: number;
  vx: number;
  vy: number;
  /** The system the fleet is in; null while travelling. */
  systemId: Id | null;
  destinationId: Id | null;
}

export interface Character {
  id: Id;
  civId: Id;
  name: string;
  role: CharacterRole;
  traits: string[];
  /** 0..100. */
  loyalty: number;
  xp: number;
  level: number;
}

export interface MarketGood {
  /** Credits per unit, integer, within the good's price band. */
  price: number;
  /** Last tick's offered and wanted quantities, and what changed hands. */
  supply: number;
  demand: number;
  volume: number;
}

export interface Market {
  id: Id;
  name: string;
  systemId: Id;
  /** Markets of adjacent regions: where corporations look for routes. */
  neighbors: Id[];
  goods: MarketGood[];
}

export interface Corporation {
  id: Id;
  name: string;
  homeCivId: Id;
  /** Buys `good` at buyMarketId and sells it at sellMarketId (a trade route). */
  good: number;
  buyMarketId: Id;
  sellMarketId: Id;
  capacity: number;
  credits: number;
  inventory: number;
  revenue: number;
  costs: number;
  profit: number;
}

export interface Relation {
  /** a < b (string order). */
  a: Id;
  b: Id;
  /** -100..100. */
  trust: number;
  treaty: Treaty;
  atWar: boolean;
  /** A pending proposal (a treaty, or peace while at war): who offered what; "none" when nothing is pending. */
  offerFrom: Id | null;
  offer: Treaty | "peace";
}

export interface Modifier {
  id: Id;
  targetId: Id;
  kind: ModifierKind;
  /** Percent, bounded by MODIFIER_BOUNDS. */
  magnitude: number;
  remainingTicks: number;
  source: "advice" | "event" | "policy";
}

export interface Tech {
  id: Id;
  name: string;
  cost: number;
  prereqs: Id[];
  effect: ModifierKind | "speed" | "weapons" | "sensors";
  magnitude: number;
}

export interface WorldKpis {
  population: number;
  credits: number;
  goods: number[];
  ships: number;
  battles: number;
  tradeVolume: number;
  meanStability: number;
}

export interface WorldParams {
  players: number;
  aiCivilizations: number;
  systems: number;
  markets: number;
  corporations: number;
  galaxySize: number;
}

export interface World {
  version: 1;
  seed: string;
  tick: number;
  params: WorldParams;
  /** Next number for ids of entities created during play (fleets, modifiers). */
  nextId: number;
  /** Static during play (like systems and planets): shared, frozen, between ticks. */
  techs: readonly Tech[];
  civilizations: Civilization[];
  systems: readonly StarSystem[];
  planets: readonly Planet[];
  cities: City[];
  fleets: Fleet[];
  characters: Character[];
  markets: Market[];
  corporations: Corporation[];
  relations: Relation[];
  modifiers: Modifier[];
  kpis: WorldKpis;
}
