import type { TickContext } from "../tick-context";
import { reject, type Command, type Rejection } from "./command-types";

/**
 * System commands (queued by the simulation itself when campaign membership changes, never
 * by players): a member who joins a running campaign takes over an AI civilization — the
 * one with the lowest id, so replays agree — and one who leaves hands theirs back to the
 * AI. Nothing is created or destroyed: conservation holds, and the empire carries on.
 * Payload: { playerId }.
 */
export function applyJoin(ctx: TickContext, command: Command): Rejection {
  const playerId = command.payload.playerId;
  if (typeof playerId !== "string" || playerId.length === 0) return reject("INVALID_PAYLOAD", "playerId is required");
  const civilizations = [...ctx.index.civ.values()];
  if (civilizations.some((civ) => civ.playerId === playerId)) return reject("NO_CHANGE", "this player already leads a civilization");
  const free = civilizations.filter((civ) => civ.playerId === null && !civ.eliminated).sort((a, b) => compareIds(a.id, b.id))[0];
  if (!free) return reject("NO_FREE_CIVILIZATION", "every civilization has a player");
  free.playerId = playerId;
  ctx.emit("CIVILIZATION_CLAIMED", { civId: free.id, playerId });
  return null;
}

export function applyLeave(ctx: TickContext, command: Command): Rejection {
  const playerId = command.payload.playerId;
  if (typeof playerId !== "string" || playerId.length === 0) return reject("INVALID_PAYLOAD", "playerId is required");
  const civ = [...ctx.index.civ.values()].find((c) => c.playerId === playerId);
  if (!civ) return reject("NO_CHANGE", "this player leads no civilization");
  civ.playerId = null;
  ctx.emit("CIVILIZATION_RELEASED", { civId: civ.id, playerId });
  return null;
}

/** `civ-2` before `civ-10`. */
const compareIds = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
