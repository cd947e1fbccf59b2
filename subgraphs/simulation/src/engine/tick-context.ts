import type { Command, CommandResult } from "./commands/command-types";
import { copyModifier } from "./core/clone-world";
import { assetTotals } from "./core/asset-totals";
import { Ledger, type Asset } from "./core/ledger";
import { rngFor, type Rng } from "./core/rng";
import { indexWorld, type WorldIndex } from "./core/world-index";
import type { SimEvent, SimEventType } from "./events";
import type { Civilization, Id, Modifier, ModifierKind, Tech, World } from "./model";

/** A bounded nudge for an AI civilization (e.g. parsed from LLM advice); clamped on entry. */
export interface AdviceModifier {
  civId: Id;
  kind: ModifierKind;
  /** Percent; clamped to ±MODIFIER_BOUNDS.magnitude. */
  magnitude: number;
  /** Clamped to 1..MODIFIER_BOUNDS.ticks. */
  ticks: number;
}

/** An order on a market for this tick only: civilizations' and corporations' alike. */
export interface TradeOrder {
  holder: "civ" | "corp";
  holderId: Id;
  marketId: Id;
  good: number;
  side: "buy" | "sell";
  quantity: number;
  /** Buy: pay at most this; sell: take at least this. */
  limitPrice: number | null;
}

/** The mutable state of one tick in progress. The world here is the tick's own copy. */
export interface TickContext {
  readonly world: World;
  /** The tick being computed (world.tick + 1 of the input). */
  readonly tick: number;
  readonly index: WorldIndex;
  readonly ledger: Ledger;
  readonly events: SimEvent[];
  readonly commands: readonly Command[];
  readonly results: CommandResult[];
  readonly orders: TradeOrder[];
  /** Units of goods each civilization's cities produced this tick (the production step's, by civilization id). */
  readonly output: Map<Id, number>;
  readonly advice: readonly AdviceModifier[];
  readonly modifiersByTarget: Map<Id, Modifier[]>;
  /** Every asset's world total when the tick began: the conservation check's baseline. */
  readonly totalsBefore: Map<Asset, number>;
  /** The random stream of a step: seeded by campaign seed, tick and stream name. */
  rng(stream: string): Rng;
  emit(type: SimEventType, data: Record<string, string | number>): void;
  newId(prefix: string): Id;
}

export function createTickContext(world: World, commands: readonly Command[], advice: readonly AdviceModifier[]): TickContext {
  const tick = world.tick + 1;
  const events: SimEvent[] = [];
  const modifiersByTarget = new Map<Id, Modifier[]>();
  for (const m of world.modifiers) addToGroup(modifiersByTarget, m);
  return {
    world,
    tick,
    index: indexWorld(world),
    ledger: new Ledger(),
    events,
    commands,
    results: [],
    orders: [],
    output: new Map(),
    advice,
    modifiersByTarget,
    totalsBefore: assetTotals(world),
    rng: (stream) => rngFor(world.seed, tick, stream),
    emit: (type, data) => events.push({ type, tick, data }),
    newId: (prefix) => `${prefix}-${world.nextId++}`,
  };
}

function addToGroup(groups: Map<Id, Modifier[]>, m: Modifier): void {
  const list = groups.get(m.targetId);
  if (list) list.push(m);
  else groups.set(m.targetId, [m]);
}

export function addModifier(ctx: TickContext, modifier: Modifier): void {
  const m = copyModifier(modifier);
  ctx.world.modifiers.push(m);
  addToGroup(ctx.modifiersByTarget, m);
}

/** A civilization's total bonus (percent) of one kind: its technologies plus active modifiers. */
export function bonusPercent(ctx: TickContext, civ: Civilization, effect: Tech["effect"]): number {
  let total = 0;
  for (const techId of civ.techs) {
    const tech = ctx.index.tech.get(techId);
    if (tech && tech.effect === effect) total += tech.magnitude;
  }
  const modifiers = ctx.modifiersByTarget.get(civ.id);
  if (modifiers) for (const m of modifiers) if (m.kind === effect && m.remainingTicks > 0) total += m.magnitude;
  return total;
}

/** Integer share: floor(amount × percent / 100), never negative. */
export const percentOf = (amount: number, percent: number): number => Math.max(0, Math.floor((amount * percent) / 100));
