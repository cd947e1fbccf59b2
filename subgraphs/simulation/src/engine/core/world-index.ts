import type { City, Civilization, Corporation, Fleet, Id, Market, Planet, Relation, StarSystem, Tech, World } from "../model";

/**
 * Lookups by id, built once per tick in O(entities) (static collections: once per world).
 * Steps that add or remove entities keep it current. The static maps are shared: read only.
 */
export interface WorldIndex {
  civ: Map<Id, Civilization>;
  system: Map<Id, StarSystem>;
  planet: Map<Id, Planet>;
  city: Map<Id, City>;
  fleet: Map<Id, Fleet>;
  market: Map<Id, Market>;
  corporation: Map<Id, Corporation>;
  tech: Map<Id, Tech>;
  citiesByCiv: Map<Id, City[]>;
  relation: Map<string, Relation>;
  relationsByCiv: Map<Id, Relation[]>;
}

export function addRelation(index: WorldIndex, relation: Relation): void {
  index.relation.set(relationKey(relation.a, relation.b), relation);
  for (const civId of [relation.a, relation.b]) {
    const list = index.relationsByCiv.get(civId);
    if (list) list.push(relation);
    else index.relationsByCiv.set(civId, [relation]);
  }
}

export const relationKey = (x: Id, y: Id): string => (x < y ? `${x}|${y}` : `${y}|${x}`);

const byId = <T extends { id: Id }>(items: readonly T[]): Map<Id, T> => {
  const map = new Map<Id, T>();
  for (const item of items) map.set(item.id, item);
  return map;
};

/** Lookups over frozen (static, shared between ticks) collections are built once per collection. */
const staticMaps = new WeakMap<object, Map<Id, unknown>>();
const byIdStatic = <T extends { id: Id }>(items: readonly T[]): Map<Id, T> => {
  if (!Object.isFrozen(items)) return byId(items);
  let map = staticMaps.get(items) as Map<Id, T> | undefined;
  if (!map) staticMaps.set(items, (map = byId(items)));
  return map;
};

export function indexWorld(world: World): WorldIndex {
  const citiesByCiv = new Map<Id, City[]>();
  for (const city of world.cities) {
    const list = citiesByCiv.get(city.ownerId);
    if (list) list.push(city);
    else citiesByCiv.set(city.ownerId, [city]);
  }
  const index: WorldIndex = {
    civ: byId(world.civilizations),
    system: byIdStatic(world.systems),
    planet: byIdStatic(world.planets),
    city: byId(world.cities),
    fleet: byId(world.fleets),
    market: byId(world.markets),
    corporation: byId(world.corporations),
    tech: byIdStatic(world.techs),
    citiesByCiv,
    relation: new Map(),
    relationsByCiv: new Map(),
  };
  for (const r of world.relations) addRelation(index, r);
  return index;
}
