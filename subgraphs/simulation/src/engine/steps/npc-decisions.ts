import { levelForXp, MODIFIER_BOUNDS } from "../catalog";
import { orderBuild } from "../commands/build";
import { accept, clampTrust, declareWar, propose } from "../commands/diplomacy";
import { shipCount } from "../commands/move-fleet";
import type { Rng } from "../core/rng";
import { buildUtilities, chooseBuild, chooseResearch, outlook } from "../ai/utility";
import type { Civilization, Fleet, Id, ModifierKind, Relation } from "../model";
import { addModifier, type TickContext } from "../tick-context";
import type { TickStep } from "./tick-step";

const MODIFIER_KINDS: readonly ModifierKind[] = ["production", "research", "stability", "trade"];
/** Trust an AI needs before it accepts each kind of proposal. */
const ACCEPT_AT: Record<string, number> = { peace: -60, trade: 0, non_aggression: 15, alliance: 50 };

/**
 * Step 2: decisions for AI civilizations (rule-based utility AI) and for every character.
 * LLM advice enters only as bounded modifiers on AI civilizations, clamped here.
 */
export const npcDecisions: TickStep = {
  name: "npc",
  run(ctx) {
    const rng = ctx.rng("npc");
    applyAdvice(ctx);
    answerProposals(ctx);
    const fleetsByOwner = new Map<Id, Fleet[]>();
    for (const fleet of ctx.world.fleets) {
      const list = fleetsByOwner.get(fleet.ownerId);
      if (list) list.push(fleet);
      else fleetsByOwner.set(fleet.ownerId, [fleet]);
    }
    for (const civ of ctx.world.civilizations) {
      if (civ.playerId !== null || civ.eliminated) continue;
      decide(ctx, civ, fleetsByOwner.get(civ.id) ?? [], rng);
    }
    developCharacters(ctx);
  },
};

function applyAdvice(ctx: TickContext): void {
  for (const advice of ctx.advice) {
    const civ = ctx.index.civ.get(advice.civId);
    if (!civ || civ.playerId !== null || !MODIFIER_KINDS.includes(advice.kind) || !Number.isFinite(advice.magnitude)) continue;
    const active = (ctx.modifiersByTarget.get(civ.id) ?? []).filter((m) => m.source === "advice" && m.remainingTicks > 0).length;
    if (active >= MODIFIER_BOUNDS.perCivilization) continue;
    const bound = MODIFIER_BOUNDS.magnitude;
    addModifier(ctx, {
      id: ctx.newId("mod"),
      targetId: civ.id,
      kind: advice.kind,
      magnitude: Math.max(-bound, Math.min(bound, Math.round(advice.magnitude))),
      remainingTicks: Math.max(1, Math.min(MODIFIER_BOUNDS.ticks, Math.round(advice.ticks) || 1)),
      source: "advice",
    });
  }
}

function answerProposals(ctx: TickContext): void {
  for (const relation of ctx.world.relations) {
    if (relation.offerFrom === null) continue;
    const recipient = ctx.index.civ.get(relation.offerFrom === relation.a ? relation.b : relation.a);
    if (!recipient || recipient.playerId !== null) continue;
    const needed = ACCEPT_AT[relation.offer] ?? 101;
    if (relation.trust >= needed - (recipient.personality === "warlord" ? -20 : 0)) accept(ctx, relation);
    else {
      relation.offerFrom = null;
      relation.offer = "none";
      relation.trust = clampTrust(relation.trust - 2);
    }
  }
}

const strength = (fleets: readonly Fleet[]): number => fleets.reduce((sum, f) => sum + shipCount(f), 0);

function decide(ctx: TickContext, civ: Civilization, fleets: Fleet[], rng: Rng): void {
  const cities = ctx.index.citiesByCiv.get(civ.id) ?? [];
  const relations = ctx.index.relationsByCiv.get(civ.id) ?? [];
  const wars = relations.filter((r) => r.atWar);

  if (civ.researchId === null) civ.researchId = chooseResearch(civ, ctx.world.techs)?.id ?? null;

  const idleCity = cities.find((c) => c.queue.length === 0);
  if (idleCity) {
    const item = chooseBuild(civ, idleCity, buildUtilities(civ, outlook(cities), wars.length > 0), rng);
    if (item) orderBuild(ctx, civ, idleCity, item);
  }

  if (civ.stability < 40 && civ.taxRate > 5) civ.taxRate -= 5;
  else if (civ.stability > 70 && civ.taxRate < 30) civ.taxRate += 5;

  diplomacy(ctx, civ, relations, fleets, rng);
  moveFleets(ctx, civ, wars, fleets);
}

function diplomacy(ctx: TickContext, civ: Civilization, relations: readonly Relation[], fleets: readonly Fleet[], rng: Rng): void {
  for (const relation of relations) {
    const other = ctx.index.civ.get(relation.a === civ.id ? relation.b : relation.a);
    if (!other || other.eliminated) continue;
    if (relation.atWar) {
      if (rng.chance(0.03) && strength(fleets) < 10) propose(ctx, civ, other, relation, "peace");
    } else if (civ.personality === "warlord" && relation.treaty === "none" && relation.trust < -20 && rng.chance(0.02)) {
      declareWar(ctx, civ, other, relation);
    } else if (civ.personality !== "warlord" && relation.treaty === "none" && relation.trust >= 10 && relation.offerFrom === null && rng.chance(0.02)) {
      propose(ctx, civ, other, relation, "trade");
    }
  }
}

/** At war: send the largest docked fleet at the enemy's home. At peace: bring strays home. */
function moveFleets(ctx: TickContext, civ: Civilization, wars: readonly Relation[], fleets: readonly Fleet[]): void {
  const enemy = wars.length > 0 ? ctx.index.civ.get(wars[0]!.a === civ.id ? wars[0]!.b : wars[0]!.a) : undefined;
  if (enemy) {
    if (fleets.some((f) => f.destinationId === enemy.homeSystemId)) return;
    let largest: Fleet | null = null;
    for (const f of fleets) if (f.destinationId === null && (!largest || shipCount(f) > shipCount(largest))) largest = f;
    if (largest && shipCount(largest) > 0 && largest.systemId !== enemy.homeSystemId) largest.destinationId = enemy.homeSystemId;
    return;
  }
  for (const f of fleets) if (f.destinationId === null && f.systemId !== civ.homeSystemId) f.destinationId = civ.homeSystemId;
}

function developCharacters(ctx: TickContext): void {
  for (const character of ctx.world.characters) {
    const civ = ctx.index.civ.get(character.civId);
    if (!civ) continue;
    character.xp += character.role === "leader" ? 10 + Math.floor(civ.stability / 10) : 10;
    const level = levelForXp(character.xp);
    if (level > character.level) {
      character.level = level;
      ctx.emit("CHARACTER_LEVELED", { characterId: character.id, civId: civ.id, level });
    }
    const pull = character.traits.includes("loyal") ? 2 : 1;
    if (civ.stability > character.loyalty) character.loyalty = Math.min(100, character.loyalty + pull);
    else if (civ.stability < character.loyalty) character.loyalty = Math.max(0, character.loyalty - 1);
  }
}
