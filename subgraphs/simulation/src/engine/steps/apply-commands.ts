import { applyBuild } from "../commands/build";
import type { Command, CommandResult, Rejection } from "../commands/command-types";
import { reject } from "../commands/command-types";
import { applyDiplomacy } from "../commands/diplomacy";
import { applySetPolicy, applySetTax } from "../commands/governance-orders";
import { applyJoin, applyLeave } from "../commands/membership";
import { applyMoveFleet } from "../commands/move-fleet";
import { applyResearch } from "../commands/research";
import { applyTradeOrder } from "../commands/trade-order";
import type { TickContext } from "../tick-context";
import type { TickStep } from "./tick-step";

/** Step 1: validate each queued command against the state, in log order; apply or reject it. */
export const applyCommands: TickStep = {
  name: "commands",
  run(ctx) {
    const seen = new Set<string>();
    for (const command of ctx.commands) {
      const refused = seen.has(command.id) ? reject("DUPLICATE_COMMAND", `command ${command.id} was already given`) : applyOne(ctx, command);
      seen.add(command.id);
      const result: CommandResult = refused
        ? { commandId: command.id, civId: command.civId, type: command.type, status: "REJECTED", ...refused }
        : { commandId: command.id, civId: command.civId, type: command.type, status: "APPLIED" };
      ctx.results.push(result);
      if (refused) ctx.emit("COMMAND_REJECTED", { commandId: command.id, civId: command.civId, reason: refused.reason });
    }
  },
};

function applyOne(ctx: TickContext, command: Command): Rejection {
  // Membership changes name a player, not (yet) a civilization.
  if (typeof command.payload === "object" && command.payload !== null) {
    if (command.type === "JOIN_CAMPAIGN") return applyJoin(ctx, command);
    if (command.type === "LEAVE_CAMPAIGN") return applyLeave(ctx, command);
  }
  const civ = ctx.index.civ.get(command.civId);
  if (!civ) return reject("UNKNOWN_CIVILIZATION", `no civilization ${command.civId}`);
  if (civ.eliminated) return reject("CIVILIZATION_ELIMINATED", `${civ.id} is out of the game`);
  if (typeof command.payload !== "object" || command.payload === null) return reject("INVALID_PAYLOAD", "payload must be an object");
  switch (command.type) {
    case "BUILD":
      return applyBuild(ctx, civ, command);
    case "RESEARCH":
      return applyResearch(ctx, civ, command);
    case "MOVE_FLEET":
      return applyMoveFleet(ctx, civ, command);
    case "SET_TAX":
      return applySetTax(civ, command);
    case "SET_POLICY":
      return applySetPolicy(civ, command);
    case "TRADE_ORDER":
      return applyTradeOrder(ctx, civ, command);
    case "DIPLOMACY":
      return applyDiplomacy(ctx, civ, command);
    default:
      return reject("UNKNOWN_COMMAND", `unknown command type ${String(command.type)}`);
  }
}
