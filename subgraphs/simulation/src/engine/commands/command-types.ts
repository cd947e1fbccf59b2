import type { Id } from "../model";

/** Player intents, queued and applied at the start of the next tick (never mid-tick). */
export const COMMAND_TYPES = ["BUILD", "RESEARCH", "MOVE_FLEET", "SET_TAX", "SET_POLICY", "TRADE_ORDER", "DIPLOMACY"] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/** Queued by the simulation itself when membership changes (commands/membership.ts); never by players. */
export const SYSTEM_COMMAND_TYPES = ["JOIN_CAMPAIGN", "LEAVE_CAMPAIGN"] as const;

/**
 * A command as it arrives from the API: the payload is untrusted until its handler has
 * validated it. `civId` is the issuing civilization, set by the API from the caller's
 * membership (who may act for which civilization is the API's check, not the engine's).
 * Payload shapes:
 * - BUILD { cityId, item } (a building or ship class; cost paid on order)
 * - RESEARCH { techId }
 * - MOVE_FLEET { fleetId, systemId }
 * - SET_TAX { rate } (0..50 percent)
 * - SET_POLICY { policy } (balanced | industry | research | military)
 * - TRADE_ORDER { good, side: buy|sell, quantity, limitPrice? } (at the civilization's market this tick)
 * - DIPLOMACY { targetCivId, action: declare_war | make_peace | propose_treaty, treaty? }
 */
export interface Command {
  id: string;
  civId: Id;
  type: string;
  payload: Record<string, unknown>;
}

export const REJECTION_CODES = [
  "UNKNOWN_COMMAND",
  "DUPLICATE_COMMAND",
  "UNKNOWN_CIVILIZATION",
  "CIVILIZATION_ELIMINATED",
  "INVALID_PAYLOAD",
  "NOT_FOUND",
  "NOT_OWNER",
  "INSUFFICIENT_RESOURCES",
  "QUEUE_FULL",
  "REQUIRES_SHIPYARD",
  "PREREQUISITES_MISSING",
  "ALREADY_RESEARCHED",
  "ALREADY_THERE",
  "TREATY_FORBIDS",
  "NO_CHANGE",
  "NO_FREE_CIVILIZATION",
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

export type CommandResult =
  | { commandId: string; civId: Id; type: string; status: "APPLIED" }
  | { commandId: string; civId: Id; type: string; status: "REJECTED"; reason: RejectionCode; message: string };

/** What a handler returns: null when applied, or why not. */
export type Rejection = { reason: RejectionCode; message: string } | null;

export const reject = (reason: RejectionCode, message: string): Rejection => ({ reason, message });
