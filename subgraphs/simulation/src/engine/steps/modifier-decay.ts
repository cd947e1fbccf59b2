import type { TickStep } from "./tick-step";

/** Step 8: temporary modifiers lose a tick; expired ones are removed. */
export const modifierDecay: TickStep = {
  name: "decay",
  run(ctx) {
    if (ctx.world.modifiers.length === 0) return;
    for (const m of ctx.world.modifiers) m.remainingTicks -= 1;
    ctx.world.modifiers = ctx.world.modifiers.filter((m) => m.remainingTicks > 0);
    ctx.modifiersByTarget.clear();
    for (const m of ctx.world.modifiers) {
      const list = ctx.modifiersByTarget.get(m.targetId);
      if (list) list.push(m);
      else ctx.modifiersByTarget.set(m.targetId, [m]);
    }
  },
};
