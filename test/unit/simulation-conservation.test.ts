import { ConservationError } from "../../subgraphs/simulation/src/engine/core/conservation-error";
import { GOOD } from "../../subgraphs/simulation/src/engine/catalog";
import type { TickStep } from "../../subgraphs/simulation/src/engine/steps/tick-step";
import { tick, TICK_STEPS } from "../../subgraphs/simulation/src/engine/tick";
import { smallWorld } from "./simulation-fixtures";

/** The real pipeline with one extra step just before the conservation check. */
const withStep = (extra: TickStep) => [...TICK_STEPS.slice(0, -1), extra, TICK_STEPS[TICK_STEPS.length - 1]!];

describe("conservation", () => {
  it("twenty ordinary ticks balance, and the ledger says what was created and destroyed", () => {
    let world = smallWorld();
    for (let t = 0; t < 20; t++) {
      const outcome = tick(world);
      world = outcome.world;
      expect(outcome.ledger.some((e) => e.reason === "production" && e.amount > 0)).toBe(true);
    }
  });

  it("a step that mints credits without a source fails the tick with a ConservationError", () => {
    const minter: TickStep = { name: "faulty-minter", run: (ctx) => void (ctx.world.civilizations[0]!.credits += 5) };
    const attempt = () => tick(smallWorld(), [], [], { steps: withStep(minter) });
    expect(attempt).toThrow(ConservationError);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ name: "ConservationError", tick: 1, asset: "credits" });
      const e = error as ConservationError;
      expect(e.actual - e.expected).toBe(5);
    }
  });

  it("a step that loses goods without a sink fails the tick too", () => {
    const leak: TickStep = { name: "faulty-leak", run: (ctx) => void (ctx.world.civilizations[1]!.stock[GOOD.food]! -= 3) };
    expect(() => tick(smallWorld(), [], [], { steps: withStep(leak) })).toThrow(/food: expected total \d+, found \d+/);
  });

  it("recording the change in the ledger makes the same change legitimate", () => {
    const taxed: TickStep = {
      name: "extra-tax",
      run: (ctx) => {
        ctx.world.civilizations[0]!.credits += 5;
        ctx.ledger.source("credits", "taxation", 5);
      },
    };
    expect(() => tick(smallWorld(), [], [], { steps: withStep(taxed) })).not.toThrow();
  });

  it("a negative holding is refused even when the totals balance (an overdrawn transfer)", () => {
    const overdraw: TickStep = {
      name: "faulty-transfer",
      run: (ctx) => {
        const [a, b] = ctx.world.civilizations;
        const amount = a!.credits + 10;
        a!.credits -= amount;
        b!.credits += amount;
      },
    };
    expect(() => tick(smallWorld(), [], [], { steps: withStep(overdraw) })).toThrow(/holds -10; holdings must be non-negative integers/);
  });
});
