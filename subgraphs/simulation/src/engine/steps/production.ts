import { BUILDING_KINDS, GOOD, GOODS, isShipClass, POLICIES, SHIP_CLASSES, type BuildingKind, type ShipClass } from "../catalog";
import { copyFleet } from "../core/clone-world";
import type { City, Civilization, Fleet, Id } from "../model";
import { bonusPercent, percentOf, type TickContext } from "../tick-context";
import type { TickStep } from "./tick-step";

interface CivRates {
  /** Percent applied to raw output: policy × stability, plus technology and modifiers. */
  production: number;
  research: number;
  work: number;
}

export function civRates(ctx: TickContext, civ: Civilization): CivRates {
  const morale = 50 + Math.floor(civ.stability / 2);
  const policy = POLICIES[civ.policy];
  return {
    production: Math.floor((policy.production * morale) / 100) + bonusPercent(ctx, civ, "production"),
    research: Math.floor((policy.research * morale) / 100) + bonusPercent(ctx, civ, "research"),
    work: policy.work,
  };
}

/** A city's population ceiling. */
export const populationCap = (habitability: number): number => 20 + habitability;

/**
 * Step 4: every city produces (source), feeds its people and powers its buildings (sinks),
 * runs its factories (a sink of inputs and a source of outputs), advances its build queue;
 * then each civilization's research advances.
 */
export const production: TickStep = {
  name: "production",
  run(ctx) {
    const rates = new Map<Id, CivRates>();
    const research = new Map<Id, number>();
    const shipyards = new Shipyards(ctx);
    const flows = newFlows();
    for (const city of ctx.world.cities) {
      const civ = ctx.index.civ.get(city.ownerId);
      if (!civ || civ.eliminated) continue;
      let r = rates.get(civ.id);
      if (!r) rates.set(civ.id, (r = civRates(ctx, civ)));
      const habitability = ctx.index.planet.get(city.planetId)?.habitability ?? 50;
      const before = flows.made;
      research.set(civ.id, (research.get(civ.id) ?? 0) + produce(flows, civ, city, r, habitability));
      ctx.output.set(civ.id, (ctx.output.get(civ.id) ?? 0) + flows.made - before);
      consume(flows, civ, city, habitability);
      advanceQueue(ctx, city, r, shipyards);
    }
    GOODS.forEach((good, g) => {
      ctx.ledger.source(good, "production", flows.produced[g]!);
      ctx.ledger.sink(good, "consumption", flows.consumed[g]!);
    });
    ctx.ledger.sink("energy", "upkeep", flows.powered);
    for (const civ of ctx.world.civilizations) {
      const points = research.get(civ.id) ?? 0;
      if (civ.researchId === null || points === 0) continue;
      const tech = ctx.index.tech.get(civ.researchId);
      if (!tech) continue;
      civ.researchProgress += points;
      if (civ.researchProgress >= tech.cost) {
        civ.researchProgress = 0;
        civ.researchId = null;
        civ.techs.push(tech.id);
        ctx.emit("RESEARCH_COMPLETED", { civId: civ.id, techId: tech.id });
      }
    }
  },
};

/** What the step created and destroyed, summed over cities and recorded in the ledger once. */
interface Flows {
  produced: number[];
  consumed: number[];
  powered: number;
  /** Units of every good produced so far, summed: what a city's run adds is its output. */
  made: number;
}
const newFlows = (): Flows => ({ produced: GOODS.map(() => 0), consumed: GOODS.map(() => 0), powered: 0, made: 0 });

/** Adds the city's output to its civilization's stock; returns its research points. */
function produce(flows: Flows, civ: Civilization, city: City, r: CivRates, habitability: number): number {
  const b = city.buildings;
  const stock = civ.stock;
  const food = percentOf(percentOf(2 + b.farm * 5, 50 + Math.floor(habitability / 2)), r.production);
  const energy = percentOf(2 + b.power_plant * 5, r.production);
  const minerals = percentOf(1 + b.mine * 4, r.production);
  stock[GOOD.food]! += food;
  stock[GOOD.energy]! += energy;
  stock[GOOD.minerals]! += minerals;
  flows.produced[GOOD.food]! += food;
  flows.produced[GOOD.energy]! += energy;
  flows.produced[GOOD.minerals]! += minerals;
  flows.made += food + energy + minerals;

  const runs = Math.min(b.factory, Math.floor(stock[GOOD.minerals]! / 2), stock[GOOD.energy]!);
  if (runs > 0) {
    stock[GOOD.minerals]! -= runs * 2;
    stock[GOOD.energy]! -= runs;
    flows.consumed[GOOD.minerals]! += runs * 2;
    flows.consumed[GOOD.energy]! += runs;
    const made = percentOf(runs * 2, r.production);
    const alloys = Math.ceil(made / 2);
    stock[GOOD.alloys]! += alloys;
    stock[GOOD.consumer_goods]! += made - alloys;
    flows.produced[GOOD.alloys]! += alloys;
    flows.produced[GOOD.consumer_goods]! += made - alloys;
    flows.made += made;
  }
  return percentOf(1 + b.lab * 4, r.research);
}

/** Food for the people, energy for the buildings, consumer goods for comfort; growth or starvation. */
function consume(flows: Flows, civ: Civilization, city: City, habitability: number): void {
  const stock = civ.stock;
  const b = city.buildings;
  const powered = Math.min(stock[GOOD.energy]!, b.farm + b.mine + b.factory + b.lab + b.shipyard);
  stock[GOOD.energy]! -= powered;
  flows.powered += powered;

  const need = Math.ceil(city.population / 4);
  const eaten = Math.min(need, stock[GOOD.food]!);
  stock[GOOD.food]! -= eaten;
  flows.consumed[GOOD.food]! += eaten;
  const comfort = Math.min(Math.floor(city.population / 20), stock[GOOD.consumer_goods]!);
  stock[GOOD.consumer_goods]! -= comfort;
  flows.consumed[GOOD.consumer_goods]! += comfort;

  city.starving = eaten < need;
  if (city.starving) city.population = Math.max(1, city.population - Math.max(1, Math.floor(city.population / 20)));
  else if (stock[GOOD.food]! > city.population && city.population < populationCap(habitability)) city.population += 1;
}

function advanceQueue(ctx: TickContext, city: City, r: CivRates, shipyards: Shipyards): void {
  const order = city.queue[0];
  if (!order) return;
  order.remaining -= Math.floor(((2 + city.buildings.factory * 2) * r.work) / 100);
  if (order.remaining > 0) return;
  city.queue.shift();
  if (isShipClass(order.item)) shipyards.launch(city, order.item);
  else if ((BUILDING_KINDS as readonly string[]).includes(order.item)) city.buildings[order.item as BuildingKind] += 1;
  ctx.emit("BUILD_COMPLETED", { cityId: city.id, civId: city.ownerId, item: order.item });
}

/** New ships join the owner's first fleet docked in the city's system, or form a new fleet. */
class Shipyards {
  private docked: Map<string, Fleet> | null = null;
  constructor(private readonly ctx: TickContext) {}

  launch(city: City, ship: ShipClass): void {
    if (!this.docked) {
      this.docked = new Map();
      for (const f of this.ctx.world.fleets) {
        const key = `${f.systemId}|${f.ownerId}`;
        if (f.systemId !== null && f.destinationId === null && !this.docked.has(key)) this.docked.set(key, f);
      }
    }
    const key = `${city.systemId}|${city.ownerId}`;
    let fleet = this.docked.get(key);
    if (!fleet) {
      const system = this.ctx.index.system.get(city.systemId)!;
      fleet = copyFleet({
        id: this.ctx.newId("fleet"),
        name: `${city.name} Flotilla`,
        ownerId: city.ownerId,
        ships: SHIP_CLASSES.map(() => 0),
        x: system.x,
        y: system.y,
        vx: 0,
        vy: 0,
        systemId: system.id,
        destinationId: null,
      });
      this.ctx.world.fleets.push(fleet);
      this.ctx.index.fleet.set(fleet.id, fleet);
      this.docked.set(key, fleet);
    }
    fleet.ships[SHIP_CLASSES.indexOf(ship)]! += 1;
  }
}
