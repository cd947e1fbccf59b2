import { CHARACTER_TRAITS, GOODS, PLANET_TYPES, PRICE_BANDS, SPECIES, xpForLevel } from "../catalog";
import { cloneWorld } from "../core/clone-world";
import { rngFor, type Rng } from "../core/rng";
import { relationKey } from "../core/world-index";
import type { Character, City, Civilization, Corporation, Fleet, Market, Personality, Planet, Relation, StarSystem, World } from "../model";
import { computeKpis } from "../steps/kpis";
import { CELL, cellOf, layoutFor, regionHub, regionOf } from "./galaxy-layout";
import { makeName } from "./names";
import { techTree } from "./tech-tree";

export interface GenerationOptions {
  /** AI civilizations per player civilization (default 0.1), at least minAiCivilizations. */
  aiRatio?: number;
  minAiCivilizations?: number;
  systemsPerCivilization?: number;
  civilizationsPerCorporation?: number;
}

export interface WorldParamsInput {
  seed: string;
  playerIds: readonly string[];
  options?: GenerationOptions;
}

const PERSONALITIES: readonly Personality[] = ["builder", "scholar", "merchant", "warlord"];
const NEIGHBORS = 4;

/**
 * A new world for a campaign. Everything scales linearly with the number of
 * civilizations (players + AI); the same input always gives the same world (player ids are
 * sorted first, so their order does not matter).
 */
export function generateWorld({ seed, playerIds, options = {} }: WorldParamsInput): World {
  const players = [...new Set(playerIds)].sort();
  const aiCount = Math.max(options.minAiCivilizations ?? 4, Math.ceil(players.length * (options.aiRatio ?? 0.1)));
  const civCount = players.length + aiCount;
  const perCiv = Math.max(2, options.systemsPerCivilization ?? 2);
  const systemCount = civCount * perCiv;
  const layout = layoutFor(systemCount);
  const rng = (stream: string): Rng => rngFor(seed, 0, `generate:${stream}`);

  // Star systems and planets. Home systems (every perCiv-th) get a terran world and a second planet.
  const systems: StarSystem[] = [];
  const planets: Planet[] = [];
  const sysRng = rng("systems");
  for (let i = 0; i < systemCount; i++) {
    const { cx, cy } = cellOf(layout, i);
    const system: StarSystem = {
      id: `sys-${i + 1}`,
      name: makeName(sysRng),
      x: round2(cx * CELL + CELL / 2 + (sysRng.next() - 0.5) * CELL * 0.6),
      y: round2(cy * CELL + CELL / 2 + (sysRng.next() - 0.5) * CELL * 0.6),
      planetIds: [],
    };
    const home = i % perCiv === 0 && i / perCiv < civCount;
    const count = home ? 2 + sysRng.int(3) : 1 + sysRng.int(4);
    for (let p = 0; p < count; p++) {
      const kind = home && p === 0 ? PLANET_TYPES[0]! : home && p === 1 ? PLANET_TYPES[1 + sysRng.int(3)]! : sysRng.pick(PLANET_TYPES);
      const planet: Planet = {
        id: `planet-${planets.length + 1}`,
        systemId: system.id,
        name: `${system.name} ${roman(p + 1)}`,
        type: kind.type,
        habitability: Math.max(0, Math.min(100, kind.habitability + sysRng.range(-10, 10))),
      };
      planets.push(planet);
      system.planetIds.push(planet.id);
    }
    systems.push(system);
  }

  // Markets: one per region, at the system nearest the region's centre.
  const regionCount = layout.regionsX * layout.regionsY;
  const marketOfRegion = new Array<string | null>(regionCount).fill(null);
  const markets: Market[] = [];
  for (let r = 0; r < regionCount; r++) {
    const hub = regionHub(layout, r, systemCount);
    if (hub < 0) continue;
    const id = `market-${markets.length + 1}`;
    marketOfRegion[r] = id;
    markets.push({
      id,
      name: `${systems[hub]!.name} Exchange`,
      systemId: systems[hub]!.id,
      neighbors: [],
      goods: PRICE_BANDS.map((band) => ({ price: band.base, supply: 0, demand: 0, volume: 0 })),
    });
  }
  const marketById = new Map(markets.map((m) => [m.id, m]));
  for (let r = 0; r < regionCount; r++) {
    const id = marketOfRegion[r];
    if (!id) continue;
    const market = marketById.get(id)!;
    const rx = r % layout.regionsX;
    const ry = Math.floor(r / layout.regionsX);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const nx = rx + dx;
        const ny = ry + dy;
        if ((dx === 0 && dy === 0) || nx < 0 || ny < 0 || nx >= layout.regionsX || ny >= layout.regionsY) continue;
        const other = marketOfRegion[ny * layout.regionsX + nx];
        if (other) market.neighbors.push(other);
      }
    }
  }
  // Regions with no hub (none in practice) fall back to the first market.
  const marketForSystem = (index: number): string => marketOfRegion[regionOf(layout, index)] ?? markets[0]!.id;

  // Civilizations: a shuffled roster of players and AIs, civilization k at home system k × perCiv.
  const roster: (string | null)[] = [...players, ...new Array<null>(aiCount).fill(null)];
  const civRng = rng("civilizations");
  shuffle(roster, civRng);
  const civilizations: Civilization[] = roster.map((playerId, k) => {
    const homeIndex = k * perCiv;
    return {
      id: `civ-${k + 1}`,
      name: `${makeName(civRng)} ${civRng.pick(["Union", "Dominion", "Collective", "Republic", "Concord", "Hegemony"])}`,
      species: civRng.pick(SPECIES),
      playerId,
      personality: civRng.pick(PERSONALITIES),
      homeSystemId: systems[homeIndex]!.id,
      marketId: marketForSystem(homeIndex),
      neighbors: [],
      credits: 500,
      stock: [200, 200, 200, 40, 40],
      techs: [],
      researchId: null,
      researchProgress: 0,
      taxRate: 20,
      policy: "balanced",
      stability: 70,
      score: 0,
      eliminated: false,
    };
  });

  // Neighbors: civilizations whose home cells lie within 3 cells, nearest first.
  const civAtCell = new Map<number, number>();
  civilizations.forEach((_, k) => civAtCell.set(k * perCiv, k));
  const relations: Relation[] = [];
  const seen = new Set<string>();
  const relRng = rng("relations");
  civilizations.forEach((civ, k) => {
    const { cx, cy } = cellOf(layout, k * perCiv);
    const near: { k: number; d: number }[] = [];
    for (let dy = -3; dy <= 3; dy++) {
      for (let dx = -3; dx <= 3; dx++) {
        const x = cx + dx;
        const y = cy + dy;
        if ((dx === 0 && dy === 0) || x < 0 || y < 0 || x >= layout.width) continue;
        const other = civAtCell.get(y * layout.width + x);
        if (other !== undefined) near.push({ k: other, d: dx * dx + dy * dy });
      }
    }
    near.sort((p, q) => p.d - q.d || p.k - q.k);
    civ.neighbors = near.slice(0, NEIGHBORS).map((n) => civilizations[n.k]!.id);
    for (const other of civ.neighbors) {
      const key = relationKey(civ.id, other);
      if (seen.has(key)) continue;
      seen.add(key);
      const [a, b] = civ.id < other ? [civ.id, other] : [other, civ.id];
      relations.push({ a, b, trust: relRng.range(-30, 40), treaty: "none", atWar: false, offerFrom: null, offer: "none" });
    }
  });

  // Cities: a capital on the home world and a colony on its second planet.
  const cities: City[] = [];
  const fleets: Fleet[] = [];
  const characters: Character[] = [];
  const popRng = rng("population");
  for (const [k, civ] of civilizations.entries()) {
    const home = systems[k * perCiv]!;
    const [capitalPlanet, colonyPlanet] = home.planetIds;
    cities.push({
      id: `city-${cities.length + 1}`,
      name: `${home.name} Prime`,
      planetId: capitalPlanet!,
      systemId: home.id,
      ownerId: civ.id,
      population: 40 + popRng.int(11),
      // Capitals differ, so that markets have sellers as well as buyers.
      buildings: { farm: popRng.range(2, 5), mine: popRng.range(1, 4), power_plant: popRng.range(1, 3), factory: popRng.range(0, 2), lab: 1, shipyard: 1 },
      queue: [],
      starving: false,
    });
    cities.push({
      id: `city-${cities.length + 1}`,
      name: `New ${home.name}`,
      planetId: colonyPlanet!,
      systemId: home.id,
      ownerId: civ.id,
      population: 10 + popRng.int(11),
      buildings: { farm: 1, mine: 1, power_plant: 0, factory: 0, lab: 0, shipyard: 0 },
      queue: [],
      starving: false,
    });
    for (const [name, ships] of [
      ["Home Guard", [6, 2, 0]],
      ["First Squadron", [3, 2, 1]],
    ] as const) {
      fleets.push({
        id: `fleet-${fleets.length + 1}`,
        name: `${civ.name.split(" ")[0]} ${name}`,
        ownerId: civ.id,
        ships: [...ships],
        x: home.x,
        y: home.y,
        vx: 0,
        vy: 0,
        systemId: home.id,
        destinationId: null,
      });
    }
    for (const role of ["leader", "admiral", popRng.chance(0.5) ? "diplomat" : "trader"] as const) {
      const xp = popRng.int(xpForLevel(1) * 2);
      const first = popRng.int(CHARACTER_TRAITS.length);
      const second = (first + 1 + popRng.int(CHARACTER_TRAITS.length - 1)) % CHARACTER_TRAITS.length;
      characters.push({
        id: `char-${characters.length + 1}`,
        civId: civ.id,
        name: `${makeName(popRng)} ${makeName(popRng)}`,
        role,
        traits: [CHARACTER_TRAITS[first]!, CHARACTER_TRAITS[second]!],
        loyalty: popRng.range(50, 85),
        xp,
        level: xp >= xpForLevel(1) ? 2 : 1,
      });
    }
  }

  // Corporations: one per few civilizations, trading one good from its home market to a neighbor's.
  const perCorp = Math.max(1, options.civilizationsPerCorporation ?? 10);
  const corpRng = rng("corporations");
  const corporations: Corporation[] = [];
  for (let k = 0; k < civilizations.length; k += perCorp) {
    const civ = civilizations[k]!;
    const market = marketById.get(civ.marketId)!;
    corporations.push({
      id: `corp-${corporations.length + 1}`,
      name: `${makeName(corpRng)} ${corpRng.pick(["Holdings", "Consortium", "Logistics", "Mercantile", "Works"])}`,
      homeCivId: civ.id,
      good: corpRng.int(GOODS.length),
      buyMarketId: market.id,
      sellMarketId: market.neighbors.length > 0 ? corpRng.pick(market.neighbors) : market.id,
      capacity: 30,
      credits: 1000,
      inventory: 0,
      revenue: 0,
      costs: 0,
      profit: 0,
    });
  }

  const world: World = {
    version: 1,
    seed,
    tick: 0,
    params: {
      players: players.length,
      aiCivilizations: aiCount,
      systems: systemCount,
      markets: markets.length,
      corporations: corporations.length,
      galaxySize: Math.max(layout.width, layout.height) * CELL,
    },
    // Ids minted during play (`fleet-${n}`) start above every generated number.
    nextId: 1 + Math.max(systems.length, planets.length, cities.length, fleets.length, characters.length),
    techs: techTree(),
    civilizations,
    systems,
    planets,
    cities,
    fleets,
    characters,
    markets,
    corporations,
    relations,
    modifiers: [],
    kpis: { population: 0, credits: 0, goods: [], ships: 0, battles: 0, tradeVolume: 0, meanStability: 0 },
  };
  world.kpis = computeKpis(world, 0, 0);
  // Canonical key order, and static collections frozen for sharing between ticks.
  return cloneWorld(world);
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

function shuffle<T>(items: T[], rng: Rng): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function roman(n: number): string {
  return ["I", "II", "III", "IV", "V", "VI"][n - 1] ?? String(n);
}
