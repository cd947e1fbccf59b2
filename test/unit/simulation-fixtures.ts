import type { Command } from "../../subgraphs/simulation/src/engine/commands/command-types";
import { cloneWorld } from "../../subgraphs/simulation/src/engine/core/clone-world";
import { generateWorld } from "../../subgraphs/simulation/src/engine/generation/generate-world";
import type { City, Civilization, Fleet, Relation, World } from "../../subgraphs/simulation/src/engine/model";
import type { TickStep } from "../../subgraphs/simulation/src/engine/steps/tick-step";
import { createTickContext, type AdviceModifier, type TickContext } from "../../subgraphs/simulation/src/engine/tick-context";

/** Shared fixtures for the simulation engine's unit tests (not a test file itself). */

/** Two players (alice, bob) and two AI civilizations. */
export const smallWorld = (seed = "test-seed"): World =>
  generateWorld({ seed, playerIds: ["alice", "bob"], options: { minAiCivilizations: 2, aiRatio: 0 } });

export const playerCiv = (world: World, playerId: string): Civilization => world.civilizations.find((c) => c.playerId === playerId)!;
export const aiCivs = (world: World): Civilization[] => world.civilizations.filter((c) => c.playerId === null);
export const citiesOf = (world: World, civ: Civilization): City[] => world.cities.filter((c) => c.ownerId === civ.id);
export const fleetsOf = (world: World, civ: Civilization): Fleet[] => world.fleets.filter((f) => f.ownerId === civ.id);

/** A context over a copy of `world`, ready for running single steps. */
export function contextFor(world: World, commands: Command[] = [], advice: AdviceModifier[] = []): TickContext {
  const draft = cloneWorld(world);
  const ctx = createTickContext(draft, commands, advice);
  draft.tick = ctx.tick;
  return ctx;
}

/** Runs steps in order on a fresh context; returns the context to inspect. */
export function runSteps(world: World, steps: TickStep[], commands: Command[] = [], advice: AdviceModifier[] = []): TickContext {
  const ctx = contextFor(world, commands, advice);
  for (const step of steps) step.run(ctx);
  return ctx;
}

let counter = 0;
export const command = (civId: string, type: string, payload: Record<string, unknown>): Command => ({
  id: `cmd-${++counter}`,
  civId,
  type,
  payload,
});

/** Freezes a value and everything inside it: writing to it afterwards throws (strict mode). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Sets (creating if needed) the relation between two civilizations. */
export function setRelation(world: World, x: string, y: string, patch: Partial<Relation>): Relation {
  const [a, b] = x < y ? [x, y] : [y, x];
  let relation = world.relations.find((r) => r.a === a && r.b === b);
  if (!relation) {
    relation = { a, b, trust: 0, treaty: "none", atWar: false, offerFrom: null, offer: "none" };
    world.relations.push(relation);
  }
  return Object.assign(relation, patch);
}

export const relationBetween = (world: World, x: string, y: string): Relation | undefined =>
  world.relations.find((r) => (r.a === x && r.b === y) || (r.a === y && r.b === x));
