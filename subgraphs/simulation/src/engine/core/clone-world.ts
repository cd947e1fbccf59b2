import type {
  BuildOrder, Character, City, Civilization, Corporation, Fleet, Market, MarketGood, Modifier, Planet, Relation, StarSystem, Tech, World, WorldKpis, WorldParams,
} from "../model";

/*
 * Copies that write every object's keys in sorted order. A world made of these copies
 * serializes to canonical JSON with plain JSON.stringify (native speed), which is what the
 * state hash relies on: every object a tick creates goes through one of these functions.
 */

export const copyTech = (t: Tech): Tech => ({ cost: t.cost, effect: t.effect, id: t.id, magnitude: t.magnitude, name: t.name, prereqs: t.prereqs.slice() });

export const copySystem = (s: StarSystem): StarSystem => ({ id: s.id, name: s.name, planetIds: s.planetIds.slice(), x: s.x, y: s.y });

export const copyPlanet = (p: Planet): Planet => ({ habitability: p.habitability, id: p.id, name: p.name, systemId: p.systemId, type: p.type });

export const copyCiv = (c: Civilization): Civilization => ({
  credits: c.credits,
  eliminated: c.eliminated,
  homeSystemId: c.homeSystemId,
  id: c.id,
  marketId: c.marketId,
  name: c.name,
  neighbors: c.neighbors.slice(),
  personality: c.personality,
  playerId: c.playerId,
  policy: c.policy,
  researchId: c.researchId,
  researchProgress: c.researchProgress,
  score: c.score,
  species: c.species,
  stability: c.stability,
  stock: c.stock.slice(),
  taxRate: c.taxRate,
  techs: c.techs.slice(),
});

export const copyOrder = (o: BuildOrder): BuildOrder => ({ item: o.item, remaining: o.remaining });

export const copyCity = (c: City): City => {
  const b = c.buildings;
  return {
    buildings: { factory: b.factory, farm: b.farm, lab: b.lab, mine: b.mine, power_plant: b.power_plant, shipyard: b.shipyard },
    id: c.id,
    name: c.name,
    ownerId: c.ownerId,
    planetId: c.planetId,
    population: c.population,
    queue: c.queue.map(copyOrder),
    starving: c.starving,
    systemId: c.systemId,
  };
};

export const copyFleet = (f: Fleet): Fleet => ({
  destinationId: f.destinationId,
  id: f.id,
  name: f.name,
  ownerId: f.ownerId,
  ships: f.ships.slice(),
  systemId: f.systemId,
  vx: f.vx,
  vy: f.vy,
  x: f.x,
  y: f.y,
});

export const copyCharacter = (c: Character): Character => ({
  civId: c.civId,
  id: c.id,
  level: c.level,
  loyalty: c.loyalty,
  name: c.name,
  role: c.role,
  traits: c.traits.slice(),
  xp: c.xp,
});

const copyMarketGood = (g: MarketGood): MarketGood => ({ demand: g.demand, price: g.price, supply: g.supply, volume: g.volume });

export const copyMarket = (m: Market): Market => ({
  goods: m.goods.map(copyMarketGood),
  id: m.id,
  name: m.name,
  neighbors: m.neighbors.slice(),
  systemId: m.systemId,
});

export const copyCorporation = (c: Corporation): Corporation => ({
  buyMarketId: c.buyMarketId,
  capacity: c.capacity,
  costs: c.costs,
  credits: c.credits,
  good: c.good,
  homeCivId: c.homeCivId,
  id: c.id,
  inventory: c.inventory,
  name: c.name,
  profit: c.profit,
  revenue: c.revenue,
  sellMarketId: c.sellMarketId,
});

export const copyRelation = (r: Relation): Relation => ({ a: r.a, atWar: r.atWar, b: r.b, offer: r.offer, offerFrom: r.offerFrom, treaty: r.treaty, trust: r.trust });

export const copyModifier = (m: Modifier): Modifier => ({
  id: m.id,
  kind: m.kind,
  magnitude: m.magnitude,
  remainingTicks: m.remainingTicks,
  source: m.source,
  targetId: m.targetId,
});

export const copyKpis = (k: WorldKpis): WorldKpis => ({
  battles: k.battles,
  credits: k.credits,
  goods: k.goods.slice(),
  meanStability: k.meanStability,
  population: k.population,
  ships: k.ships,
  tradeVolume: k.tradeVolume,
});

const copyParams = (p: WorldParams): WorldParams => ({
  aiCivilizations: p.aiCivilizations,
  corporations: p.corporations,
  galaxySize: p.galaxySize,
  markets: p.markets,
  players: p.players,
  systems: p.systems,
});

/**
 * Static collections (systems, planets, techs) never change during play. Once copied they
 * are deep-frozen and from then on shared between ticks instead of copied again.
 */
function shareStatic<T extends object>(items: readonly T[], copy: (item: T) => T, nested: (item: T) => object[]): readonly T[] {
  if (Object.isFrozen(items)) return items;
  const copies = items.map(copy);
  for (const item of copies) {
    for (const inner of nested(item)) Object.freeze(inner);
    Object.freeze(item);
  }
  return Object.freeze(copies);
}

/**
 * A deep copy of the world with canonical key order. The tick works on this copy, so the
 * caller's world is never touched. Frozen static collections are shared, not copied.
 */
export function cloneWorld(w: World): World {
  return {
    characters: w.characters.map(copyCharacter),
    cities: w.cities.map(copyCity),
    civilizations: w.civilizations.map(copyCiv),
    corporations: w.corporations.map(copyCorporation),
    fleets: w.fleets.map(copyFleet),
    kpis: copyKpis(w.kpis),
    markets: w.markets.map(copyMarket),
    modifiers: w.modifiers.map(copyModifier),
    nextId: w.nextId,
    params: copyParams(w.params),
    planets: shareStatic(w.planets, copyPlanet, () => []),
    relations: w.relations.map(copyRelation),
    seed: w.seed,
    systems: shareStatic(w.systems, copySystem, (s) => [s.planetIds]),
    techs: shareStatic(w.techs, copyTech, (t) => [t.prereqs]),
    tick: w.tick,
    version: w.version,
  };
}
