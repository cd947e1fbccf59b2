import { SHIP_STATS } from "../catalog";
import type { Civilization, Fleet } from "../model";
import { bonusPercent, type TickContext } from "../tick-context";
import type { TickStep } from "./tick-step";

/** Distance per tick: the slowest class present sets the pace; drives technology speeds it up. */
export function fleetSpeed(ctx: TickContext, fleet: Fleet, owner: Civilization | undefined): number {
  let slowest = Infinity;
  for (let c = 0; c < fleet.ships.length; c++) if (fleet.ships[c]! > 0) slowest = Math.min(slowest, SHIP_STATS[c]!.speed);
  if (slowest === Infinity) return 0;
  return owner ? (slowest * (100 + bonusPercent(ctx, owner, "speed"))) / 100 : slowest;
}

/** Float slack so a fleet exactly `speed` away arrives this tick rather than next. */
const EPSILON = 1e-9;

/**
 * Step 7a: fleets with a destination fly a straight line at their speed; velocity points
 * at the target; a fleet within one tick's reach arrives (docks, stops, FLEET_ARRIVED).
 * A trip of distance d takes ceil(d / speed) ticks. Idle fleets cost nothing here.
 */
export const fleetMovement: TickStep = {
  name: "movement",
  run(ctx) {
    for (const fleet of ctx.world.fleets) {
      if (fleet.destinationId === null) continue;
      const target = ctx.index.system.get(fleet.destinationId);
      const speed = fleetSpeed(ctx, fleet, ctx.index.civ.get(fleet.ownerId));
      if (!target || speed === 0) {
        fleet.destinationId = null;
        continue;
      }
      fleet.systemId = null;
      const dx = target.x - fleet.x;
      const dy = target.y - fleet.y;
      const distance = Math.sqrt(dx * dx + dy * dy);
      if (distance <= speed + EPSILON) {
        fleet.x = target.x;
        fleet.y = target.y;
        fleet.vx = 0;
        fleet.vy = 0;
        fleet.systemId = target.id;
        fleet.destinationId = null;
        ctx.emit("FLEET_ARRIVED", { fleetId: fleet.id, civId: fleet.ownerId, systemId: target.id });
      } else {
        fleet.vx = (dx / distance) * speed;
        fleet.vy = (dy / distance) * speed;
        fleet.x += fleet.vx;
        fleet.y += fleet.vy;
      }
    }
  },
};
