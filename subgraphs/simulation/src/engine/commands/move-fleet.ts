import type { Civilization, Fleet } from "../model";
import type { TickContext } from "../tick-context";
import { reject, type Command, type Rejection } from "./command-types";
import { str } from "./payload";

export const shipCount = (fleet: Fleet): number => fleet.ships.reduce((sum, n) => sum + n, 0);

/** Sets a destination; the movement step flies the fleet there in a straight line. */
export function applyMoveFleet(ctx: TickContext, civ: Civilization, command: Command): Rejection {
  const fleetId = str(command.payload, "fleetId");
  const systemId = str(command.payload, "systemId");
  if (!fleetId || !systemId) return reject("INVALID_PAYLOAD", "MOVE_FLEET needs fleetId and systemId");
  const fleet = ctx.index.fleet.get(fleetId);
  if (!fleet) return reject("NOT_FOUND", `no fleet ${fleetId}`);
  if (fleet.ownerId !== civ.id) return reject("NOT_OWNER", `fleet ${fleetId} belongs to another civilization`);
  if (!ctx.index.system.has(systemId)) return reject("NOT_FOUND", `no system ${systemId}`);
  if (fleet.systemId === systemId && fleet.destinationId === null) return reject("ALREADY_THERE", `fleet ${fleetId} is in ${systemId}`);
  if (shipCount(fleet) === 0) return reject("INSUFFICIENT_RESOURCES", `fleet ${fleetId} has no ships`);
  fleet.destinationId = systemId;
  return null;
}
