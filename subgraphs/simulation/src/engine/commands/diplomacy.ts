import { copyRelation } from "../core/clone-world";
import { addRelation, relationKey } from "../core/world-index";
import type { Civilization, Id, Relation, Treaty } from "../model";
import type { TickContext } from "../tick-context";
import { reject, type Command, type Rejection } from "./command-types";
import { str } from "./payload";

const TREATIES: readonly Treaty[] = ["trade", "non_aggression", "alliance"];
export const clampTrust = (trust: number): number => Math.max(-100, Math.min(100, trust));

/** The relation between two civilizations, created (neutral) on first contact. */
export function relationOf(ctx: TickContext, x: Id, y: Id): Relation {
  const key = relationKey(x, y);
  let relation = ctx.index.relation.get(key);
  if (!relation) {
    const [a, b] = x < y ? [x, y] : [y, x];
    relation = copyRelation({ a, b, trust: 0, treaty: "none", atWar: false, offerFrom: null, offer: "none" });
    ctx.world.relations.push(relation);
    addRelation(ctx.index, relation);
  }
  return relation;
}

export function declareWar(ctx: TickContext, civ: Civilization, target: Civilization, relation: Relation): Rejection {
  if (relation.atWar) return reject("NO_CHANGE", `already at war with ${target.id}`);
  if (relation.treaty === "non_aggression" || relation.treaty === "alliance") {
    return reject("TREATY_FORBIDS", `a ${relation.treaty} treaty with ${target.id} forbids war; cancel it first`);
  }
  relation.atWar = true;
  relation.treaty = "none";
  relation.offerFrom = null;
  relation.offer = "none";
  relation.trust = clampTrust(relation.trust - 30);
  ctx.emit("WAR_DECLARED", { civId: civ.id, targetCivId: target.id });
  return null;
}

/** Offers a treaty or peace; when the other side has offered the same, it takes effect now. */
export function propose(ctx: TickContext, civ: Civilization, target: Civilization, relation: Relation, offer: Treaty | "peace"): Rejection {
  if (offer === "peace" ? !relation.atWar : relation.treaty === offer) return reject("NO_CHANGE", `nothing to change with ${target.id}`);
  if (offer !== "peace" && relation.atWar) return reject("TREATY_FORBIDS", `make peace with ${target.id} first`);
  if (relation.offerFrom === target.id && relation.offer === offer) {
    accept(ctx, relation);
    return null;
  }
  relation.offerFrom = civ.id;
  relation.offer = offer;
  return null;
}

export function accept(ctx: TickContext, relation: Relation): void {
  if (relation.offer === "peace") {
    relation.atWar = false;
    ctx.emit("PEACE_MADE", { civId: relation.a, otherCivId: relation.b });
  } else if (relation.offer !== "none") {
    relation.treaty = relation.offer;
    relation.trust = clampTrust(relation.trust + 10);
    ctx.emit("TREATY_SIGNED", { civId: relation.a, otherCivId: relation.b, treaty: relation.offer });
  }
  relation.offerFrom = null;
  relation.offer = "none";
}

export function applyDiplomacy(ctx: TickContext, civ: Civilization, command: Command): Rejection {
  const targetId = str(command.payload, "targetCivId");
  const action = str(command.payload, "action");
  if (!targetId || !action) return reject("INVALID_PAYLOAD", "DIPLOMACY needs targetCivId and action");
  const target = ctx.index.civ.get(targetId);
  if (!target) return reject("NOT_FOUND", `no civilization ${targetId}`);
  if (target.id === civ.id) return reject("INVALID_PAYLOAD", "a civilization cannot treat with itself");
  const relation = relationOf(ctx, civ.id, target.id);
  switch (action) {
    case "declare_war":
      return declareWar(ctx, civ, target, relation);
    case "make_peace":
      return propose(ctx, civ, target, relation, "peace");
    case "propose_treaty": {
      const treaty = str(command.payload, "treaty");
      if (!treaty || !(TREATIES as readonly string[]).includes(treaty)) return reject("INVALID_PAYLOAD", `treaty must be one of ${TREATIES.join(", ")}`);
      return propose(ctx, civ, target, relation, treaty as Treaty);
    }
    case "cancel_treaty":
      if (relation.treaty === "none") return reject("NO_CHANGE", `no treaty with ${target.id}`);
      relation.treaty = "none";
      relation.trust = clampTrust(relation.trust - 10);
      return null;
    default:
      return reject("INVALID_PAYLOAD", "action must be declare_war, make_peace, propose_treaty or cancel_treaty");
  }
}
