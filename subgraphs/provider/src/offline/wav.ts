/** A WAV file (PCM, 16-bit, mono) of samples in -1..1. */
export function encodeWav(samples: Float32Array, sampleRate: number): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32767), i * 2);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write("data", 36, "ascii");
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** Audio read from a WAV file: its rate and its channels mixed down to one, in -1..1. */
export type DecodedWav = { sampleRate: number; channels: number; samples: Float32Array };

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

/**
 * Reads a RIFF/WAVE file of integer PCM (8, 16, 24 or 32 bits) or float (32 or 64 bits),
 * plain or WAVE_FORMAT_EXTENSIBLE, any rate and channel count. Throws an Error saying what is
 * wrong with anything else (compressed formats, a truncated header).
 */
export function decodeWav(bytes: Buffer): DecodedWav {
  if (bytes.length < 12 || bytes.toString("ascii", 0, 4) !== "RIFF" || bytes.toString("ascii", 8, 12) !== "WAVE") throw new Error("not a RIFF/WAVE file");
  let format: { tag: number; channels: number; sampleRate: number; bits: number; blockAlign: number } | null = null;
  let data: Buffer | null = null;
  for (let offset = 12; offset + 8 <= bytes.length; ) {
    const id = bytes.toString("ascii", offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    // Streamed writers (espeak-ng on a pipe) leave a placeholder size: the data runs to the end.
    const body = bytes.subarray(offset + 8, Math.min(bytes.length, offset + 8 + size));
    if (id === "fmt ") {
      if (body.length < 16) throw new Error("its fmt chunk is too short");
      const tag = body.readUInt16LE(0);
      format = {
        tag: tag === EXTENSIBLE && body.length >= 26 ? body.readUInt16LE(24) : tag,
        channels: body.readUInt16LE(2),
        sampleRate: body.readUInt32LE(4),
        blockAlign: body.readUInt16LE(12),
        bits: body.readUInt16LE(14),
      };
    } else if (id === "data") {
      data ??= body;
    }
    offset += 8 + size + (size % 2); // chunks are word-aligned
  }
  if (!format) throw new Error("it has no fmt chunk");
  if (!data) throw new Error("it has no data chunk");
  const { tag, channels, sampleRate, bits, blockAlign } = format;
  const readSample = sampleReader(tag, bits);
  if (!readSample) throw new Error(`its encoding (format ${tag}, ${bits} bits) is not PCM or float`);
  if (channels < 1 || sampleRate < 1_000 || sampleRate > 384_000) throw new Error(`its layout (${channels} channels at ${sampleRate} Hz) is not one we read`);
  const width = bits / 8;
  if (blockAlign < channels * width) throw new Error("its block size is smaller than its samples");
  const frames = Math.floor(data.length / blockAlign);
  const samples = new Float32Array(frames);
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < channels; channel++) sum += readSample(data, frame * blockAlign + channel * width);
    samples[frame] = sum / channels;
  }
  return { sampleRate, channels, samples };
}

/** One sample at `offset` as -1..1, for this encoding; null for one we do not read. */
function sampleReader(tag: number, bits: number): ((data: Buffer, offset: number) => number) | null {
  if (tag === PCM) {
    if (bits === 8) return (data, offset) => (data[offset]! - 128) / 128; // 8-bit WAV is unsigned
    if (bits === 16) return (data, offset) => data.readInt16LE(offset) / 32_768;
    if (bits === 24) return (data, offset) => data.readIntLE(offset, 3) / 8_388_608;
    if (bits === 32) return (data, offset) => data.readInt32LE(offset) / 2_147_483_648;
  }
  if (tag === IEEE_FLOAT) {
    if (bits === 32) return (data, offset) => finite(data.readFloatLE(offset));
    if (bits === 64) return (data, offset) => finite(data.readDoubleLE(offset));
  }
  return null;
}

const finite = (value: number) => (Number.isFinite(value) ? value : 0);
