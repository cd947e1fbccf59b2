import type { TickContext } from "../tick-context";

/** One stage of the tick: reads and changes the tick's own copy of the world. */
export interface TickStep {
  readonly name: string;
  run(ctx: TickContext): void;
}
