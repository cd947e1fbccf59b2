/** Zero crossings of the sinc kept on each side of a sample: enough to keep speech clean, cheap enough for minutes of audio. */
const ZERO_CROSSINGS = 8;
/** Kernel values per zero crossing: linear interpolation between them is far below 16-bit noise. */
const STEPS = 512;

/**
 * The Hann-windowed sinc at |distance| / reach, tabulated once: a lookup per tap instead of a
 * sine and a cosine makes resampling several times faster, and it runs on the worker's event loop.
 */
const KERNEL = Float64Array.from({ length: ZERO_CROSSINGS * STEPS + 2 }, (_, i) => {
  const u = Math.min(1, i / (ZERO_CROSSINGS * STEPS));
  const x = Math.PI * u * ZERO_CROSSINGS;
  return (x === 0 ? 1 : Math.sin(x) / x) * (0.5 + 0.5 * Math.cos(Math.PI * u));
});

function kernel(u: number): number {
  const at = u * ZERO_CROSSINGS * STEPS;
  const i = Math.floor(at);
  return KERNEL[i]! + (KERNEL[i + 1]! - KERNEL[i]!) * (at - i);
}

/**
 * `samples` at `from` Hz as the same sound at `to` Hz: band-limited interpolation whose
 * cutoff is the lower of the two Nyquist frequencies, so going down in rate filters out what
 * the new rate cannot hold instead of folding it back as noise.
 */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const step = from / to;
  // Below 1 when going down: the sinc is stretched to cut at the output's Nyquist.
  const cutoff = Math.min(1, to / from);
  const reach = ZERO_CROSSINGS / cutoff;
  const output = new Float32Array(Math.floor((samples.length * to) / from));
  for (let i = 0; i < output.length; i++) {
    const centre = i * step;
    const first = Math.max(0, Math.ceil(centre - reach));
    const last = Math.min(samples.length - 1, Math.floor(centre + reach));
    let sum = 0;
    let weights = 0;
    for (let k = first; k <= last; k++) {
      const weight = kernel(Math.abs(k - centre) / reach);
      sum += samples[k]! * weight;
      weights += weight;
    }
    // Dividing by the weights keeps a constant signal constant, at the edges too.
    output[i] = weights === 0 ? 0 : sum / weights;
  }
  return output;
}
