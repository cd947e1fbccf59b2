import { POLICIES, SHIP_STATS } from "../catalog";
import type { Civilization, Id } from "../model";
import { bonusPercent, type TickContext } from "../tick-context";
import type { TickStep } from "./tick-step";

export const UNREST_BELOW = 20;
/** Stability moves at most this far toward its target per tick. */
const STABILITY_STEP = 3;

/** What stability tends to for a civilization, given its policy, taxes and troubles. */
export function stabilityTarget(ctx: TickContext, civ: Civilization, troubles: { starving: boolean; wars: number; unpaid: boolean }): number {
  const target =
    80 -
    civ.taxRate +
    POLICIES[civ.policy].stability +
    bonusPercent(ctx, civ, "stability") -
    (troubles.starving ? 15 : 0) -
    Math.min(20, troubles.wars * 10) -
    (troubles.unpaid ? 10 : 0);
  return Math.max(0, Math.min(100, target));
}

/**
 * Step 3: taxes (credits source), fleet upkeep (credits sink), stability. Unrest is
 * announced when stability falls below UNREST_BELOW.
 */
export const governance: TickStep = {
  name: "governance",
  run(ctx) {
    const wars = new Map<Id, number>();
    for (const r of ctx.world.relations) {
      if (!r.atWar) continue;
      wars.set(r.a, (wars.get(r.a) ?? 0) + 1);
      wars.set(r.b, (wars.get(r.b) ?? 0) + 1);
    }
    const upkeep = new Map<Id, number>();
    for (const fleet of ctx.world.fleets) {
      let cost = 0;
      for (let c = 0; c < fleet.ships.length; c++) cost += fleet.ships[c]! * SHIP_STATS[c]!.upkeep;
      upkeep.set(fleet.ownerId, (upkeep.get(fleet.ownerId) ?? 0) + cost);
    }
    for (const civ of ctx.world.civilizations) {
      if (civ.eliminated) continue;
      const cities = ctx.index.citiesByCiv.get(civ.id) ?? [];
      let population = 0;
      let starving = false;
      for (const city of cities) {
        population += city.population;
        starving ||= city.starving;
      }
      const tax = Math.floor((population * civ.taxRate) / 100);
      civ.credits += tax;
      ctx.ledger.source("credits", "taxation", tax);

      const due = Math.ceil((upkeep.get(civ.id) ?? 0) / 2);
      const paid = Math.min(due, civ.credits);
      civ.credits -= paid;
      ctx.ledger.sink("credits", "upkeep", paid);

      const before = civ.stability;
      const target = stabilityTarget(ctx, civ, { starving, wars: wars.get(civ.id) ?? 0, unpaid: paid < due });
      civ.stability += Math.max(-STABILITY_STEP, Math.min(STABILITY_STEP, target - civ.stability));
      if (before >= UNREST_BELOW && civ.stability < UNREST_BELOW) ctx.emit("CIVILIZATION_UNREST", { civId: civ.id, stability: civ.stability });
    }
  },
};
