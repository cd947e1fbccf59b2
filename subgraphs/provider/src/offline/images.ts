import type { ImageRequest } from "../domain/requests";
import { seedOf } from "../domain/requests";
import { encodePng } from "./png";
import { pick, seededRandom } from "./rng";

type Rgb = [number, number, number];

/** Smooth value noise on a lattice hashed from the seed (0..1). */
function valueNoise(seed: number) {
  const hash = (x: number, y: number) => {
    let h = (x * 374761393 + y * 668265263 + seed * 2246822519) | 0;
    h = Math.imul(h ^ (h >>> 13), 1274126177);
    return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
  };
  const smooth = (t: number) => t * t * (3 - 2 * t);
  const noise = (x: number, y: number) => {
    const xi = Math.floor(x);
    const yi = Math.floor(y);
    const tx = smooth(x - xi);
    const ty = smooth(y - yi);
    const a = hash(xi, yi) + (hash(xi + 1, yi) - hash(xi, yi)) * tx;
    const b = hash(xi, yi + 1) + (hash(xi + 1, yi + 1) - hash(xi, yi + 1)) * tx;
    return a + (b - a) * ty;
  };
  /** Fractal sum of four octaves. */
  return (x: number, y: number) => (noise(x, y) * 0.5 + noise(x * 2, y * 2) * 0.25 + noise(x * 4, y * 4) * 0.15 + noise(x * 8, y * 8) * 0.1);
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

class Canvas {
  readonly data: Uint8Array;
  constructor(readonly size: number) {
    this.data = new Uint8Array(size * size * 4);
  }
  set(x: number, y: number, c: Rgb, alpha = 1): void {
    const i = (y * this.size + x) * 4;
    const d = this.data;
    d[i] = clamp(d[i]! * (1 - alpha) + c[0] * alpha);
    d[i + 1] = clamp(d[i + 1]! * (1 - alpha) + c[1] * alpha);
    d[i + 2] = clamp(d[i + 2]! * (1 - alpha) + c[2] * alpha);
    d[i + 3] = 255;
  }
  /** Fills an ellipse (centre and radii as fractions of the size) with a soft edge. */
  ellipse(cx: number, cy: number, rx: number, ry: number, colour: Rgb | ((u: number, v: number) => Rgb)): void {
    const s = this.size;
    for (let y = Math.max(0, Math.floor((cy - ry) * s)); y < Math.min(s, Math.ceil((cy + ry) * s)); y++) {
      for (let x = Math.max(0, Math.floor((cx - rx) * s)); x < Math.min(s, Math.ceil((cx + rx) * s)); x++) {
        const u = (x / s - cx) / rx;
        const v = (y / s - cy) / ry;
        const d = u * u + v * v;
        if (d > 1) continue;
        const edge = Math.min(1, (1 - d) * s * Math.min(rx, ry) * 0.5);
        this.set(x, y, typeof colour === "function" ? colour(u, v) : colour, edge);
      }
    }
  }
}

const PLANET_PALETTES: [Rgb, Rgb, Rgb][] = [
  [[32, 80, 160], [40, 140, 70], [230, 230, 210]], // ocean world
  [[170, 90, 40], [220, 170, 110], [120, 50, 30]], // desert
  [[200, 170, 120], [160, 110, 70], [240, 220, 180]], // gas giant
  [[150, 200, 230], [230, 245, 255], [90, 140, 190]], // ice
  [[60, 20, 20], [220, 80, 20], [30, 10, 10]], // lava
  [[90, 60, 140], [160, 120, 200], [40, 30, 80]], // exotic
];

function planet(size: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const noise = valueNoise(seed);
  const canvas = new Canvas(size);
  const [low, high, accent] = pick(random, PLANET_PALETTES);
  const banded = random() < 0.4;
  // Space: near black with a faint nebula and stars.
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const n = noise((x / size) * 3, (y / size) * 3);
      canvas.set(x, y, [8 + n * 25, 6 + n * 10, 18 + n * 35]);
    }
  }
  for (let i = 0; i < size; i++) {
    const b = 150 + random() * 105;
    canvas.set(Math.floor(random() * size), Math.floor(random() * size), [b, b, b * 0.95]);
  }
  const radius = 0.3 + random() * 0.1;
  const light = [-0.5, -0.45, 0.74];
  const scale = 2 + random() * 3;
  canvas.ellipse(0.5, 0.5, radius + 0.03, radius + 0.03, (u, v) => {
    const d = Math.sqrt(u * u + v * v);
    return mix([8, 8, 20], [...high].map((c) => c * 0.8) as Rgb, Math.max(0, 1 - Math.abs(d - 0.95) * 10) * 0.6);
  });
  canvas.ellipse(0.5, 0.5, radius, radius, (u, v) => {
    const z = Math.sqrt(Math.max(0, 1 - u * u - v * v));
    const shade = Math.max(0.08, u * light[0]! + v * light[1]! + z * light[2]!);
    const n = banded ? 0.5 + 0.5 * Math.sin(v * scale * 6 + noise(u * 2, v * 8) * 4) : noise(u * scale + 10, v * scale + 10);
    const surface = n < 0.45 ? mix(low, high, n / 0.45) : mix(high, accent, Math.min(1, (n - 0.45) / 0.4));
    const rim = Math.pow(1 - z, 3) * 0.5;
    return mix(surface.map((c) => c * shade) as Rgb, [170, 200, 255], rim);
  });
  return canvas.data;
}

const SKINS: Rgb[] = [[241, 194, 125], [198, 134, 66], [141, 85, 36], [255, 219, 172], [120, 180, 130], [130, 160, 220], [190, 140, 200]];
const HAIR: Rgb[] = [[30, 20, 15], [90, 60, 30], [200, 170, 90], [160, 40, 30], [220, 220, 230], [40, 90, 160]];
const GARB: Rgb[] = [[40, 60, 90], [90, 30, 40], [60, 70, 50], [80, 80, 90], [120, 90, 40]];

function portrait(size: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const canvas = new Canvas(size);
  const top: Rgb = [random() * 80, random() * 80, 60 + random() * 120];
  const bottom: Rgb = [10, 10, 25];
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) canvas.set(x, y, mix(top, bottom, y / size));
  const skin = pick(random, SKINS);
  const hair = pick(random, HAIR);
  const garb = pick(random, GARB);
  const shade = (c: Rgb) => (u: number, v: number) => c.map((k) => k * (1 - 0.25 * Math.max(0, u * 0.7 + v * 0.5))) as Rgb;
  const headW = 0.17 + random() * 0.05;
  const headH = 0.22 + random() * 0.04;
  canvas.ellipse(0.5, 1.02, 0.38, 0.3, shade(garb)); // shoulders
  canvas.ellipse(0.5, 0.72, 0.07, 0.1, shade(skin.map((c) => c * 0.85) as Rgb)); // neck
  if (random() < 0.7) canvas.ellipse(0.5, 0.4, headW + 0.03, headH + 0.03, shade(hair)); // hair behind
  canvas.ellipse(0.5, 0.45, headW, headH, shade(skin));
  if (random() < 0.6) canvas.ellipse(0.5, 0.28, headW + 0.01, 0.09, shade(hair)); // fringe
  const eyeY = 0.43 + random() * 0.03;
  const eye: Rgb = random() < 0.3 ? [250, 200, 40] : [30, 30, 40];
  for (const side of [-1, 1]) {
    canvas.ellipse(0.5 + side * headW * 0.42, eyeY, 0.03, 0.018, [240, 240, 240]);
    canvas.ellipse(0.5 + side * headW * 0.42, eyeY, 0.014, 0.014, eye);
  }
  canvas.ellipse(0.5, 0.56, 0.05, 0.012, skin.map((c) => c * 0.6) as Rgb); // mouth
  if (random() < 0.3) canvas.ellipse(0.5, eyeY, headW * 0.9, 0.035, [80, 220, 255]); // visor
  return canvas.data;
}

/** A deterministic PNG for the request: the same prompt always paints the same picture. */
export function generateImage(request: ImageRequest): Buffer {
  const seed = seedOf(`${request.subject}\0${request.prompt}`);
  const pixels = request.subject === "PLANET" ? planet(request.size, seed) : portrait(request.size, seed);
  return encodePng(request.size, request.size, pixels);
}
