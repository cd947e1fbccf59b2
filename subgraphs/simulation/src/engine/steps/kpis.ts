import { BUILDING_KINDS, GOODS } from "../catalog";
import { copyKpis } from "../core/clone-world";
import type { Civilization, City, Fleet, Id, World, WorldKpis } from "../model";
import type { TickStep } from "./tick-step";

/** A civilization's score: people, knowledge, wealth, might, infrastructure and contentment. */
export function civScore(civ: Civilization, cities: readonly City[], ships: number): number {
  let population = 0;
  let buildings = 0;
  for (const c of cities) {
    population += c.population;
    for (const kind of BUILDING_KINDS) buildings += c.buildings[kind];
  }
  return population * 2 + civ.techs.length * 100 + Math.floor(civ.credits / 10) + ships * 5 + buildings * 10 + civ.stability;
}

const shipsOf = (f: Fleet): number => f.ships.reduce((s, n) => s + n, 0);

/** World totals in O(entities). */
export function computeKpis(world: World, battles: number, tradeVolume: number): WorldKpis {
  const goods = new Array<number>(GOODS.length).fill(0);
  let credits = 0;
  let stability = 0;
  for (const civ of world.civilizations) {
    credits += civ.credits;
    stability += civ.stability;
    for (let g = 0; g < GOODS.length; g++) goods[g]! += civ.stock[g]!;
  }
  for (const corp of world.corporations) {
    credits += corp.credits;
    goods[corp.good]! += corp.inventory;
  }
  let population = 0;
  for (const city of world.cities) population += city.population;
  let ships = 0;
  for (const fleet of world.fleets) ships += shipsOf(fleet);
  return copyKpis({
    population,
    credits,
    goods,
    ships,
    battles,
    tradeVolume,
    meanStability: world.civilizations.length ? Math.round(stability / world.civilizations.length) : 0,
  });
}

/** Step 9a: each civilization's score, and the world's KPIs. */
export const kpis: TickStep = {
  name: "kpis",
  run(ctx) {
    const ships = new Map<Id, number>();
    for (const f of ctx.world.fleets) ships.set(f.ownerId, (ships.get(f.ownerId) ?? 0) + shipsOf(f));
    for (const civ of ctx.world.civilizations) civ.score = civScore(civ, ctx.index.citiesByCiv.get(civ.id) ?? [], ships.get(civ.id) ?? 0);
    let battles = 0;
    for (const e of ctx.events) if (e.type === "BATTLE_RESOLVED") battles += 1;
    let volume = 0;
    for (const m of ctx.world.markets) for (const g of m.goods) volume += g.volume;
    ctx.world.kpis = computeKpis(ctx.world, battles, volume);
  },
};
