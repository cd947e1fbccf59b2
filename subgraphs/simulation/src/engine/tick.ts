import type { Command, CommandResult } from "./commands/command-types";
import { cloneWorld } from "./core/clone-world";
import type { LedgerEntry } from "./core/ledger";
import { hashCanonicalWorld } from "./core/state-hash";
import type { SimEvent } from "./events";
import type { World } from "./model";
import { applyCommands } from "./steps/apply-commands";
import { combat } from "./steps/combat";
import { conservationCheck } from "./steps/conservation";
import { corporations } from "./steps/corporations";
import { fleetMovement } from "./steps/fleet-movement";
import { governance } from "./steps/governance";
import { kpis } from "./steps/kpis";
import { modifierDecay } from "./steps/modifier-decay";
import { npcDecisions } from "./steps/npc-decisions";
import { production } from "./steps/production";
import type { TickStep } from "./steps/tick-step";
import { trade } from "./steps/trade";
import { createTickContext, type AdviceModifier } from "./tick-context";

/** The tick's steps, in this order (the subgraph's README tells the story). Saving and publishing, the last step, are the caller's (domain/tick-runner.ts). */
export const TICK_STEPS: readonly TickStep[] = [
  applyCommands,
  npcDecisions,
  governance,
  production,
  trade,
  corporations,
  fleetMovement,
  combat,
  modifierDecay,
  kpis,
  conservationCheck,
];

export interface TickOptions {
  /** Replace the pipeline (tests inject faulty steps; never in production). */
  steps?: readonly TickStep[];
  /** For profiling only: called with each step's name and duration, measured with `clock`. */
  profile?: { clock: () => number; record: (step: string, ms: number) => void };
}

export interface TickOutcome {
  world: World;
  results: CommandResult[];
  events: SimEvent[];
  /** sha256 of the new world's canonical serialization. */
  hash: string;
  /** What the tick created and destroyed, by asset and reason. */
  ledger: LedgerEntry[];
  /** Units of goods each civilization's cities produced (by civilization id; none for a civilization without cities). */
  output: ReadonlyMap<string, number>;
}

/**
 * Advances a world by one tick: a pure function. The input world is not changed (the tick
 * works on its own copy); the same world, commands and advice always give the same
 * outcome and hash. Throws ConservationError if a step broke the books.
 */
export function tick(world: World, commands: readonly Command[] = [], advice: readonly AdviceModifier[] = [], options: TickOptions = {}): TickOutcome {
  const draft = cloneWorld(world);
  const ctx = createTickContext(draft, commands, advice);
  draft.tick = ctx.tick;
  for (const step of options.steps ?? TICK_STEPS) {
    if (options.profile) {
      const started = options.profile.clock();
      step.run(ctx);
      options.profile.record(step.name, options.profile.clock() - started);
    } else step.run(ctx);
  }
  const started = options.profile?.clock();
  const hash = hashCanonicalWorld(draft);
  if (options.profile && started !== undefined) options.profile.record("hash", options.profile.clock() - started);
  const rejected = ctx.results.filter((r) => r.status === "REJECTED").length;
  ctx.emit("TICK_COMPLETED", { hash, commandsApplied: ctx.results.length - rejected, commandsRejected: rejected, events: ctx.events.length });
  return { world: draft, results: ctx.results, events: ctx.events, hash, ledger: ctx.ledger.entries(), output: ctx.output };
}
