import { assetTotals, firstUnsoundHolding } from "../core/asset-totals";
import { ConservationError } from "../core/conservation-error";
import { ASSETS } from "../core/ledger";
import type { TickStep } from "./tick-step";

/**
 * Step 9b: the books must balance. For every asset, the world's total now must equal the
 * total before the tick plus the ledger's sources minus its sinks, and no holding may be
 * negative or fractional. Anything else is a bug in a step: the tick fails.
 */
export const conservationCheck: TickStep = {
  name: "conservation",
  run(ctx) {
    const unsound = firstUnsoundHolding(ctx.world);
    if (unsound) {
      throw new ConservationError(ctx.tick, unsound.asset, 0, unsound.amount, `${unsound.holder} holds ${unsound.amount}; holdings must be non-negative integers`);
    }
    const after = assetTotals(ctx.world);
    for (const asset of ASSETS) {
      const expected = (ctx.totalsBefore.get(asset) ?? 0) + ctx.ledger.net(asset);
      const actual = after.get(asset) ?? 0;
      if (actual !== expected) throw new ConservationError(ctx.tick, asset, expected, actual);
    }
  },
};
