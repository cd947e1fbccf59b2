import { BASE_SENSOR_RANGE } from "../catalog";
import type { Civilization, Fleet, Id, World } from "../model";

export interface MapCity {
  id: Id;
  name: string;
  ownerId: Id;
  population: number;
}
export interface MapPlanet {
  id: Id;
  name: string;
  type: string;
  habitability: number;
  cities: MapCity[];
}
export interface MapSystem {
  id: Id;
  name: string;
  x: number;
  y: number;
  marketId: Id | null;
  planets: MapPlanet[];
}
export interface MapFleet {
  id: Id;
  name: string;
  ownerId: Id;
  x: number;
  y: number;
  systemId: Id | null;
  /** Own fleets only: where it is going. */
  destinationId: Id | null;
  /** Own fleets: ships per class; others: only the total is known. */
  ships: number[] | null;
  shipTotal: number;
}
export interface GalaxyMap {
  civId: Id;
  tick: number;
  sensorRange: number;
  systems: MapSystem[];
  fleets: MapFleet[];
}

/** A uniform grid over points: neighbors within `range` are found in the 3×3 cells around a point. */
class Grid<T> {
  private readonly cells = new Map<number, T[]>();
  constructor(private readonly size: number) {}
  private key(cx: number, cy: number): number {
    return cx * 1_000_003 + cy;
  }
  add(x: number, y: number, item: T): void {
    const k = this.key(Math.floor(x / this.size), Math.floor(y / this.size));
    const cell = this.cells.get(k);
    if (cell) cell.push(item);
    else this.cells.set(k, [item]);
  }
  near(x: number, y: number, visit: (item: T) => void): void {
    const cx = Math.floor(x / this.size);
    const cy = Math.floor(y / this.size);
    for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) this.cells.get(this.key(cx + dx, cy + dy))?.forEach(visit);
  }
}

/** A civilization's sensor range: base, plus its sensor technologies in percent. */
export function sensorRange(world: World, civ: Civilization): number {
  let bonus = 0;
  for (const tech of world.techs) if (tech.effect === "sensors" && civ.techs.includes(tech.id)) bonus += tech.magnitude;
  return (BASE_SENSOR_RANGE * (100 + bonus)) / 100;
}

/**
 * The galaxy map as each civilization may see it (fog of war): systems and fleets within
 * sensor range of its cities' systems and its fleets; its own fleets in full, others' as a
 * total. Build the reader once per world, then ask it for any number of civilizations;
 * each map costs O(sources × local density), not O(world).
 */
export function createGalaxyMapReader(world: World): (civId: Id) => GalaxyMap | null {
  const maxRange = Math.max(BASE_SENSOR_RANGE, ...world.civilizations.map((c) => sensorRange(world, c)));
  const systemGrid = new Grid<number>(maxRange);
  world.systems.forEach((s, i) => systemGrid.add(s.x, s.y, i));
  const fleetGrid = new Grid<Fleet>(maxRange);
  const fleetsByOwner = new Map<Id, Fleet[]>();
  for (const f of world.fleets) {
    fleetGrid.add(f.x, f.y, f);
    const list = fleetsByOwner.get(f.ownerId);
    if (list) list.push(f);
    else fleetsByOwner.set(f.ownerId, [f]);
  }
  const civs = new Map(world.civilizations.map((c) => [c.id, c]));
  const systemIndex = new Map(world.systems.map((s, i) => [s.id, i]));
  const planets = new Map(world.planets.map((p) => [p.id, p]));
  const citiesByPlanet = new Map<Id, MapCity[]>();
  const ownSystems = new Map<Id, Set<Id>>();
  for (const c of world.cities) {
    const list = citiesByPlanet.get(c.planetId);
    const city = { id: c.id, name: c.name, ownerId: c.ownerId, population: c.population };
    if (list) list.push(city);
    else citiesByPlanet.set(c.planetId, [city]);
    const own = ownSystems.get(c.ownerId);
    if (own) own.add(c.systemId);
    else ownSystems.set(c.ownerId, new Set([c.systemId]));
  }
  const marketAt = new Map(world.markets.map((m) => [m.systemId, m.id]));

  return (civId) => {
    const civ = civs.get(civId);
    if (!civ) return null;
    const range = sensorRange(world, civ);
    const r2 = range * range;
    const sources: { x: number; y: number }[] = [];
    for (const id of ownSystems.get(civId) ?? []) {
      const s = world.systems[systemIndex.get(id)!]!;
      sources.push({ x: s.x, y: s.y });
    }
    for (const f of fleetsByOwner.get(civId) ?? []) sources.push({ x: f.x, y: f.y });

    const seenSystems = new Set<number>();
    const seenFleets = new Set<Fleet>();
    for (const src of sources) {
      systemGrid.near(src.x, src.y, (i) => {
        const s = world.systems[i]!;
        if ((s.x - src.x) ** 2 + (s.y - src.y) ** 2 <= r2) seenSystems.add(i);
      });
      fleetGrid.near(src.x, src.y, (f) => {
        if ((f.x - src.x) ** 2 + (f.y - src.y) ** 2 <= r2) seenFleets.add(f);
      });
    }
    for (const f of fleetsByOwner.get(civId) ?? []) seenFleets.add(f);

    const systems = [...seenSystems]
      .sort((p, q) => p - q)
      .map((i): MapSystem => {
        const s = world.systems[i]!;
        return {
          id: s.id,
          name: s.name,
          x: s.x,
          y: s.y,
          marketId: marketAt.get(s.id) ?? null,
          planets: s.planetIds.map((pid) => {
            const p = planets.get(pid)!;
            return { id: p.id, name: p.name, type: p.type, habitability: p.habitability, cities: citiesByPlanet.get(pid) ?? [] };
          }),
        };
      });
    const fleets = world.fleets
      .filter((f) => seenFleets.has(f))
      .map((f): MapFleet => {
        const own = f.ownerId === civId;
        return {
          id: f.id,
          name: f.name,
          ownerId: f.ownerId,
          x: f.x,
          y: f.y,
          systemId: f.systemId,
          destinationId: own ? f.destinationId : null,
          ships: own ? f.ships.slice() : null,
          shipTotal: f.ships.reduce((s, n) => s + n, 0),
        };
      });
    return { civId, tick: world.tick, sensorRange: range, systems, fleets };
  };
}

export const galaxyMapFor = (world: World, civId: Id): GalaxyMap | null => createGalaxyMapReader(world)(civId);
