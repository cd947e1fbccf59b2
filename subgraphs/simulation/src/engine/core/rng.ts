import { createHash } from "node:crypto";

/** A seeded random stream. Never Math.random in rules: the same seed gives the same draws. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [min, max]. */
  range(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128-bit state, passes
 * PractRand, a counter keeps it from short cycles. Seeded from sha256 of the stream's name.
 */
export function sfc32(a: number, b: number, c: number, d: number): Rng {
  const next = (): number => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (n) => Math.floor(next() * n),
    range: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => {
      if (items.length === 0) throw new RangeError("pick from an empty list");
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
    chance: (p) => next() < p,
  };
  for (let i = 0; i < 12; i++) next(); // mix the seed before the first draw
  return rng;
}

/**
 * The stream for one (campaign seed, tick, step): each step draws from its own stream, so
 * adding a draw in one step never shifts another step's results.
 */
export function rngFor(seed: string, tick: number, stream: string): Rng {
  const digest = createHash("sha256").update(`${seed}\u0000${tick}\u0000${stream}`).digest();
  return sfc32(digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12));
}
