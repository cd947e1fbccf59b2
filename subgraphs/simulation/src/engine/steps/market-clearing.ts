import { PRICE_BANDS } from "../catalog";

/**
 * Splits `total` over `wants` in proportion, in integers: shares are floored, then the
 * remainder goes one unit each to the earliest entries with room. Sums exactly to total
 * (which must not exceed the sum of wants).
 */
export function allocate(wants: readonly number[], total: number): number[] {
  const sum = wants.reduce((s, w) => s + w, 0);
  if (sum === 0 || total === 0) return wants.map(() => 0);
  const shares = wants.map((w) => Math.floor((w * total) / sum));
  let left = total - shares.reduce((s, x) => s + x, 0);
  for (let i = 0; left > 0 && i < shares.length; i++) {
    if (shares[i]! < wants[i]!) {
      shares[i]! += 1;
      left -= 1;
    }
  }
  return shares;
}

/** Liquidity damps price moves on thin markets. */
const LIQUIDITY = 20;
/** At most this fraction of the price moves in one tick. */
const MAX_STEP = 0.25;

/**
 * The next price from this tick's offered (supply) and wanted (demand) quantities: up when
 * demand exceeds supply, down when supply exceeds demand, drifting to the base price when
 * nobody trades; always inside the good's band.
 */
export function nextPrice(good: number, price: number, supply: number, demand: number): number {
  const band = PRICE_BANDS[good]!;
  let next: number;
  if (supply === 0 && demand === 0) next = price + Math.sign(band.base - price) * Math.max(1, Math.round(Math.abs(band.base - price) / 20));
  else next = Math.round(price * (1 + (MAX_STEP * (demand - supply)) / (demand + supply + LIQUIDITY)));
  if (next === price && demand !== supply && (supply === 0 || demand === 0)) next += demand > supply ? 1 : -1;
  return Math.max(band.min, Math.min(band.max, next));
}
