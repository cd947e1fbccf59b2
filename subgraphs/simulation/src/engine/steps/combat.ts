import { SHIP_STATS } from "../catalog";
import { shipCount } from "../commands/move-fleet";
import type { Rng } from "../core/rng";
import { relationKey } from "../core/world-index";
import type { Fleet, Id } from "../model";
import { bonusPercent, type TickContext } from "../tick-context";
import type { TickStep } from "./tick-step";

export const ROUNDS = 3;

export interface Side {
  fleets: Fleet[];
  /** Weapons bonus, percent. */
  weapons: number;
}

export const firepower = (side: Side): number => {
  let total = 0;
  for (const f of side.fleets) for (let c = 0; c < f.ships.length; c++) total += f.ships[c]! * SHIP_STATS[c]!.attack;
  return (total * (100 + side.weapons)) / 100;
};

const hull = (side: Side): number => {
  let total = 0;
  for (const f of side.fleets) for (let c = 0; c < f.ships.length; c++) total += f.ships[c]! * SHIP_STATS[c]!.hull;
  return total;
};

/** Destroys ships worth `damage` hull, lightest class first (they screen the heavy ones). Returns ships lost. */
function takeDamage(side: Side, damage: number): number {
  let lost = 0;
  for (let c = 0; c < SHIP_STATS.length; c++) {
    const h = SHIP_STATS[c]!.hull;
    for (const f of side.fleets) {
      const killed = Math.min(f.ships[c]!, Math.floor(damage / h));
      f.ships[c]! -= killed;
      damage -= killed * h;
      lost += killed;
    }
  }
  return lost;
}

/**
 * A battle between two sides, in place: up to ROUNDS rounds of simultaneous fire with
 * ±20% seeded luck. The side with more firepower (then hull) left wins; ties go to `a`.
 */
export function fight(a: Side, b: Side, rng: Rng): { winner: "a" | "b"; lossesA: number; lossesB: number } {
  let lossesA = 0;
  let lossesB = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const fireA = firepower(a);
    const fireB = firepower(b);
    if (fireA === 0 || fireB === 0) break;
    const hitB = fireA * (0.8 + 0.4 * rng.next());
    const hitA = fireB * (0.8 + 0.4 * rng.next());
    lossesB += takeDamage(b, hitB);
    lossesA += takeDamage(a, hitA);
  }
  const [fa, fb] = [firepower(a), firepower(b)];
  const winner = fa > fb || (fa === fb && hull(a) >= hull(b)) ? "a" : "b";
  return { winner, lossesA, lossesB };
}

/**
 * Step 7b: combat only where hostile fleets share a system. Docked fleets of civilizations
 * at war are hashed by system (the spatial hash), so the cost is O(fleets) plus the systems
 * that hold more than one of them. The loser's survivors retreat home; empty fleets are removed.
 */
export const combat: TickStep = {
  name: "combat",
  run(ctx) {
    // Only civilizations at war can fight: everyone else's fleets never enter the hash.
    const belligerents = new Set<Id>();
    for (const r of ctx.world.relations) {
      if (!r.atWar) continue;
      belligerents.add(r.a);
      belligerents.add(r.b);
    }
    if (belligerents.size === 0) return;
    const bySystem = new Map<Id, Fleet[]>();
    for (const fleet of ctx.world.fleets) {
      if (fleet.systemId === null || !belligerents.has(fleet.ownerId) || shipCount(fleet) === 0) continue;
      const list = bySystem.get(fleet.systemId);
      if (list) list.push(fleet);
      else bySystem.set(fleet.systemId, [fleet]);
    }
    const rng = ctx.rng("combat");
    let destroyed = false;
    for (const [systemId, fleets] of bySystem) {
      if (fleets.length < 2) continue;
      const owners = [...new Set(fleets.map((f) => f.ownerId))];
      for (let i = 0; i < owners.length; i++) {
        for (let j = i + 1; j < owners.length; j++) {
          const [x, y] = [owners[i]!, owners[j]!];
          if (!ctx.index.relation.get(relationKey(x, y))?.atWar) continue;
          const a = side(ctx, fleets, x);
          const b = side(ctx, fleets, y);
          if (firepower(a) === 0 && firepower(b) === 0) continue;
          const result = fight(a, b, rng);
          const [winner, loser] = result.winner === "a" ? [x, y] : [y, x];
          ctx.emit("BATTLE_RESOLVED", {
            systemId,
            winnerId: winner,
            loserId: loser,
            winnerLosses: result.winner === "a" ? result.lossesA : result.lossesB,
            loserLosses: result.winner === "a" ? result.lossesB : result.lossesA,
          });
          const home = ctx.index.civ.get(loser)?.homeSystemId;
          for (const f of (result.winner === "a" ? b : a).fleets) if (home && home !== systemId && shipCount(f) > 0) f.destinationId = home;
          destroyed = true;
        }
      }
    }
    if (!destroyed) return;
    ctx.world.fleets = ctx.world.fleets.filter((f) => {
      if (shipCount(f) > 0) return true;
      ctx.index.fleet.delete(f.id);
      ctx.emit("FLEET_DESTROYED", { fleetId: f.id, civId: f.ownerId });
      return false;
    });
  },
};

function side(ctx: TickContext, fleets: readonly Fleet[], owner: Id): Side {
  const civ = ctx.index.civ.get(owner);
  return { fleets: fleets.filter((f) => f.ownerId === owner), weapons: civ ? bonusPercent(ctx, civ, "weapons") : 0 };
}
