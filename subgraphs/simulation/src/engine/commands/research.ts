import type { Civilization, Tech } from "../model";
import type { TickContext } from "../tick-context";
import { reject, type Command, type Rejection } from "./command-types";
import { str } from "./payload";

export function canResearch(civ: Civilization, tech: Tech): Rejection {
  if (civ.techs.includes(tech.id)) return reject("ALREADY_RESEARCHED", `${tech.id} is already known`);
  const missing = tech.prereqs.filter((id) => !civ.techs.includes(id));
  if (missing.length > 0) return reject("PREREQUISITES_MISSING", `${tech.id} needs ${missing.join(", ")}`);
  return null;
}

/** Switching research starts the new technology from zero. */
export function applyResearch(ctx: TickContext, civ: Civilization, command: Command): Rejection {
  const techId = str(command.payload, "techId");
  if (!techId) return reject("INVALID_PAYLOAD", "RESEARCH needs techId");
  const tech = ctx.index.tech.get(techId);
  if (!tech) return reject("NOT_FOUND", `no technology ${techId}`);
  if (civ.researchId === techId) return reject("NO_CHANGE", `${techId} is already being researched`);
  const refused = canResearch(civ, tech);
  if (refused) return refused;
  civ.researchId = techId;
  civ.researchProgress = 0;
  return null;
}
