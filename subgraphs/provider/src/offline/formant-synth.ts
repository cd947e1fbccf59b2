import { seedOf } from "../domain/requests";
import { seededRandom } from "./rng";
import { encodeWav } from "./wav";

/**
 * A tiny formant synthesizer (the Klatt idea, cut down): a glottal pulse train and a noise
 * source through three cascaded resonators whose frequencies glide between the targets of
 * each sound. Spelling maps to sounds by simple letter rules, so it mumbles English rather
 * than reads it, but it is real speech-like audio, deterministic, and needs nothing installed.
 * espeak-ng is used instead wherever it is installed (see speech.ts).
 */
export const SAMPLE_RATE = 16_000;

type Phone = { f: [number, number, number]; voiced: number; noise: number; noiseFreq: number; ms: number; gap?: boolean };

const V = (f1: number, f2: number, f3: number, ms = 110): Phone => ({ f: [f1, f2, f3], voiced: 1, noise: 0, noiseFreq: 0, ms });
const PHONES: Record<string, Phone> = {
  a: V(730, 1090, 2440), e: V(530, 1840, 2480), i: V(390, 1990, 2550), o: V(570, 840, 2410), u: V(440, 1020, 2240), y: V(300, 2200, 2960, 90),
  ee: V(270, 2290, 3010, 140), oo: V(300, 870, 2240, 140), ai: V(660, 1700, 2400, 150), ou: V(600, 1000, 2400, 150),
  m: { f: [280, 900, 2200], voiced: 0.6, noise: 0, noiseFreq: 0, ms: 70 },
  n: { f: [280, 1700, 2600], voiced: 0.6, noise: 0, noiseFreq: 0, ms: 65 },
  l: { f: [360, 1300, 2700], voiced: 0.8, noise: 0, noiseFreq: 0, ms: 60 },
  r: { f: [420, 1300, 1600], voiced: 0.8, noise: 0, noiseFreq: 0, ms: 60 },
  w: { f: [300, 610, 2200], voiced: 0.8, noise: 0, noiseFreq: 0, ms: 55 },
  s: { f: [400, 1700, 2600], voiced: 0, noise: 0.5, noiseFreq: 5500, ms: 95 },
  z: { f: [300, 1700, 2600], voiced: 0.4, noise: 0.35, noiseFreq: 5000, ms: 85 },
  sh: { f: [400, 1700, 2600], voiced: 0, noise: 0.5, noiseFreq: 2800, ms: 100 },
  f: { f: [400, 1100, 2500], voiced: 0, noise: 0.25, noiseFreq: 7000, ms: 85 },
  v: { f: [300, 1100, 2500], voiced: 0.4, noise: 0.2, noiseFreq: 6500, ms: 70 },
  th: { f: [400, 1400, 2600], voiced: 0, noise: 0.2, noiseFreq: 6000, ms: 80 },
  h: { f: [600, 1400, 2500], voiced: 0, noise: 0.25, noiseFreq: 1800, ms: 55 },
  p: { f: [400, 1000, 2400], voiced: 0, noise: 0.4, noiseFreq: 1200, ms: 45, gap: true },
  t: { f: [400, 1700, 2600], voiced: 0, noise: 0.45, noiseFreq: 4000, ms: 45, gap: true },
  k: { f: [400, 1900, 2500], voiced: 0, noise: 0.45, noiseFreq: 2200, ms: 50, gap: true },
  b: { f: [300, 900, 2300], voiced: 0.5, noise: 0.2, noiseFreq: 1000, ms: 40, gap: true },
  d: { f: [300, 1700, 2600], voiced: 0.5, noise: 0.2, noiseFreq: 3500, ms: 40, gap: true },
  g: { f: [300, 1900, 2400], voiced: 0.5, noise: 0.2, noiseFreq: 2000, ms: 45, gap: true },
  " ": { f: [500, 1500, 2500], voiced: 0, noise: 0, noiseFreq: 0, ms: 70 },
  ".": { f: [500, 1500, 2500], voiced: 0, noise: 0, noiseFreq: 0, ms: 260 },
};
const DIGRAPHS: Record<string, string> = { sh: "sh", ch: "sh", th: "th", ee: "ee", ea: "ee", oo: "oo", ai: "ai", ay: "ai", ou: "ou", ow: "ou", ph: "f", ck: "k", qu: "k" };
const LETTERS: Record<string, string> = { c: "k", j: "d", q: "k", x: "k" };

/** Letters to sounds: digraphs first, then single letters; punctuation is a pause. */
export function phonesOf(text: string): string[] {
  const lower = text.toLowerCase().replace(/[0-9]+/g, (n) => ` ${n.split("").join(" ")} `);
  const out: string[] = [];
  for (let i = 0; i < lower.length; i++) {
    const pair = lower.slice(i, i + 2);
    if (DIGRAPHS[pair]) {
      out.push(DIGRAPHS[pair]!);
      i++;
      continue;
    }
    const ch = lower[i]!;
    if (/[.!?;:,]/.test(ch)) out.push(".");
    else if (/\s/.test(ch)) {
      if (out.at(-1) !== " ") out.push(" ");
    } else if (PHONES[ch]) out.push(ch);
    else if (LETTERS[ch]) out.push(LETTERS[ch]!);
  }
  return out;
}

/** A two-pole resonator (one formant). */
class Resonator {
  private y1 = 0;
  private y2 = 0;
  process(x: number, freq: number, bandwidth: number): number {
    const c = -Math.exp((-2 * Math.PI * bandwidth) / SAMPLE_RATE);
    const b = 2 * Math.exp((-Math.PI * bandwidth) / SAMPLE_RATE) * Math.cos((2 * Math.PI * freq) / SAMPLE_RATE);
    const a = 1 - b - c;
    const y = a * x + b * this.y1 + c * this.y2;
    this.y2 = this.y1;
    this.y1 = y;
    return y;
  }
}

export function synthesize(text: string, options: { voice?: string | null; maxSeconds?: number } = {}): Float32Array {
  const phones = phonesOf(text).slice(0, 2_000);
  const random = seededRandom(seedOf(text));
  // The voice name picks a pitch: "low", "high", or any name hashed to 90-220 Hz.
  const voice = options.voice ?? "narrator";
  const basePitch = voice === "low" ? 90 : voice === "high" ? 210 : 95 + (seedOf(voice) % 110);
  const total = phones.reduce((sum, p) => sum + PHONES[p]!.ms, 0);
  const length = Math.min(Math.ceil((total / 1000) * SAMPLE_RATE) + SAMPLE_RATE / 10, (options.maxSeconds ?? 60) * SAMPLE_RATE);
  const out = new Float32Array(length);
  const formants = [new Resonator(), new Resonator(), new Resonator()];
  const hiss = new Resonator();
  const current = [500, 1500, 2500];
  const question = /\?\s*$/.test(text);
  let phase = 0;
  let n = 0;
  let amp = 0;
  for (let p = 0; p < phones.length && n < length; p++) {
    const phone = PHONES[phones[p]!]!;
    const samples = Math.floor((phone.ms / 1000) * SAMPLE_RATE);
    for (let s = 0; s < samples && n < length; s++, n++) {
      const progress = n / length;
      // Declarative pitch falls over the utterance; a question rises at the end.
      const pitch = basePitch * (question && progress > 0.8 ? 1 + (progress - 0.8) * 1.5 : 1.15 - progress * 0.3) * (1 + 0.02 * Math.sin(n / 400));
      for (let k = 0; k < 3; k++) current[k] = current[k]! + (phone.f[k]! - current[k]!) * 0.004;
      const inGap = phone.gap && s < samples * 0.6;
      const target = inGap || (phone.voiced === 0 && phone.noise === 0) ? 0 : 1;
      amp += (target - amp) * 0.006;
      phase += pitch / SAMPLE_RATE;
      if (phase >= 1) phase -= 1;
      // A glottal pulse: a quick rise and a fall, then closed for the rest of the period.
      const glottal = phase < 0.4 ? Math.sin((Math.PI * phase) / 0.4) ** 2 - 0.3 : -0.3 * (1 - (phase - 0.4) / 0.6);
      let voiced = glottal * phone.voiced;
      for (let k = 0; k < 3; k++) voiced = formants[k]!.process(voiced, current[k]!, 60 + k * 40);
      const noise = phone.noise > 0 && !inGap ? hiss.process(random() * 2 - 1, phone.noiseFreq, 900) * phone.noise : 0;
      out[n] = (voiced * 0.5 + noise) * amp;
    }
  }
  // Normalize to -3 dBFS.
  let peak = 0;
  for (const v of out) peak = Math.max(peak, Math.abs(v));
  if (peak > 0) for (let i = 0; i < out.length; i++) out[i] = (out[i]! / peak) * 0.7;
  return out;
}

export const synthesizeWav = (text: string, voice?: string | null) => encodeWav(synthesize(text, { voice }), SAMPLE_RATE);
