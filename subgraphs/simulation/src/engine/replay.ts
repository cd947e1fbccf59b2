import type { Command } from "./commands/command-types";
import { hashWorld } from "./core/state-hash";
import { generateWorld, type WorldParamsInput } from "./generation/generate-world";
import type { World } from "./model";
import { tick } from "./tick";
import type { AdviceModifier } from "./tick-context";

/** What was fed to one tick: its commands and any advice. A bare array means commands only. */
export type TickInput = readonly Command[] | { commands: readonly Command[]; advice?: readonly AdviceModifier[] };

/** The event log: inputs by tick number (1 = the first tick after generation). */
export type CommandLog = ReadonlyMap<number, TickInput>;

/**
 * Rebuilds a campaign's world from its generation parameters and its input log (event
 * sourcing): generate, then apply every tick in order up to `ticks` (default: the log's
 * last tick). The result's hash can be compared with the saved state's.
 */
export function replay(initial: WorldParamsInput, log: CommandLog, ticks?: number): { world: World; hash: string; hashes: string[] } {
  const last = ticks ?? Math.max(0, ...log.keys());
  let world = generateWorld(initial);
  const hashes: string[] = [];
  for (let t = 1; t <= last; t++) {
    const input = log.get(t) ?? [];
    const { commands, advice } = isCommandList(input) ? { commands: input, advice: [] } : { commands: input.commands, advice: input.advice ?? [] };
    const outcome = tick(world, commands, advice);
    world = outcome.world;
    hashes.push(outcome.hash);
  }
  return { world, hash: hashWorld(world), hashes };
}

const isCommandList = (input: TickInput): input is readonly Command[] => Array.isArray(input);
