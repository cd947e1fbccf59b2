import type { Rng } from "../core/rng";

const START = ["Al", "Bel", "Cor", "Dra", "El", "Fen", "Gal", "Hes", "Ir", "Jov", "Kel", "Lor", "Mir", "Nor", "Or", "Pra", "Quel", "Ra", "Sol", "Tor", "Ul", "Vel", "Xan", "Zir"];
const MIDDLE = ["a", "e", "i", "o", "u", "ae", "io", "ar", "en", "is", "or", "un"];
const END = ["d", "n", "s", "th", "x", "ra", "ris", "tor", "via", "mus", "lon", "dae"];

/** A pronounceable name from syllables; deterministic for a given stream. */
export function makeName(rng: Rng): string {
  const middle = rng.chance(0.5) ? rng.pick(MIDDLE) : "";
  return rng.pick(START) + middle + rng.pick(END);
}
