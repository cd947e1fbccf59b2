import { GOODS } from "../catalog";

/** The only ways goods and credits may enter or leave the world. */
export const SOURCES = ["production", "taxation"] as const;
export const SINKS = ["consumption", "upkeep", "construction", "corporate_costs"] as const;
export type Source = (typeof SOURCES)[number];
export type Sink = (typeof SINKS)[number];

/** "credits" or a good's name. */
export type Asset = "credits" | (typeof GOODS)[number];
export const ASSETS: readonly Asset[] = ["credits", ...GOODS];

export interface LedgerEntry {
  asset: Asset;
  reason: Source | Sink;
  /** Positive for a source, negative for a sink. */
  amount: number;
}

const REASONS: readonly (Source | Sink)[] = [...SOURCES, ...SINKS];
const assetIndex = Object.fromEntries(ASSETS.map((a, i) => [a, i])) as Record<Asset, number>;
const reasonIndex = Object.fromEntries(REASONS.map((r, i) => [r, i])) as Record<Source | Sink, number>;

/**
 * What a tick created and destroyed, by asset and reason. Steps record here every change
 * to the totals; transfers between holders are not recorded (they change no total).
 * A flat table: recording is on the hot path (several calls per city per tick).
 */
export class Ledger {
  private readonly table = new Array<number>(ASSETS.length * REASONS.length).fill(0);

  source(asset: Asset, reason: Source, amount: number): void {
    this.record(asset, reason, amount);
  }

  sink(asset: Asset, reason: Sink, amount: number): void {
    this.record(asset, reason, amount);
  }

  private record(asset: Asset, reason: Source | Sink, amount: number): void {
    if (amount === 0) return;
    if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`ledger: bad amount ${amount} for ${asset} (${reason})`);
    this.table[assetIndex[asset] * REASONS.length + reasonIndex[reason]]! += amount;
  }

  /** Net change the ledger allows for an asset: sources minus sinks. */
  net(asset: Asset): number {
    let total = 0;
    const row = assetIndex[asset] * REASONS.length;
    for (let r = 0; r < REASONS.length; r++) total += r < SOURCES.length ? this.table[row + r]! : -this.table[row + r]!;
    return total;
  }

  /** Non-zero entries, by asset then reason; sources positive, sinks negative. */
  entries(): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    ASSETS.forEach((asset, a) =>
      REASONS.forEach((reason, r) => {
        const amount = this.table[a * REASONS.length + r]!;
        if (amount !== 0) out.push({ asset, reason, amount: r < SOURCES.length ? amount : -amount });
      }),
    );
    return out;
  }
}
