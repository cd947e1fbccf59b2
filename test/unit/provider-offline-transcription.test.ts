import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { builtinDeployments, type Deployment } from "../../subgraphs/provider/src/domain/deployments";
import type { TranscriptionRequest } from "../../subgraphs/provider/src/domain/requests";
import { createOfflineDriver } from "../../subgraphs/provider/src/drivers/offline-driver";
import { ProviderError } from "../../subgraphs/provider/src/drivers/provider-error";
import { EngineFailed, findPocketsphinx, runPocketsphinx, type Pocketsphinx } from "../../subgraphs/provider/src/offline/pocketsphinx";
import { resample } from "../../subgraphs/provider/src/offline/resample";
import { createSlots } from "../../subgraphs/provider/src/offline/slots";
import { offlineAudioProblem } from "../../subgraphs/provider/src/offline/transcription";
import { decodeWav, encodeWav } from "../../subgraphs/provider/src/offline/wav";

/** A WAV file built by hand: `frames` of per-channel values already in the encoding's integer (or float) form. */
function wav(options: { tag: number; bits: number; rate: number; frames: number[][]; extensible?: boolean; placeholderSizes?: boolean; chunkBeforeFmt?: Buffer }): Buffer {
  const channels = options.frames[0]?.length ?? 1;
  const width = options.bits / 8;
  const data = Buffer.alloc(options.frames.length * channels * width);
  options.frames.forEach((frame, i) =>
    frame.forEach((value, channel) => {
      const at = (i * channels + channel) * width;
      if (options.tag === 3) {
        if (options.bits === 32) data.writeFloatLE(value, at);
        else data.writeDoubleLE(value, at);
      } else if (options.bits === 8) data[at] = value;
      else data.writeIntLE(value, at, width);
    }),
  );
  const fmt = Buffer.alloc(options.extensible ? 40 : 16);
  fmt.writeUInt16LE(options.extensible ? 0xfffe : options.tag, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(options.rate, 4);
  fmt.writeUInt32LE(options.rate * channels * width, 8);
  fmt.writeUInt16LE(channels * width, 12);
  fmt.writeUInt16LE(options.bits, 14);
  if (options.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(options.tag, 24); // the sub-format GUID starts with the format tag
  }
  const chunk = (id: string, body: Buffer, size = body.length) => {
    const header = Buffer.alloc(8);
    header.write(id, 0, "ascii");
    header.writeUInt32LE(size, 4);
    return Buffer.concat([header, body, Buffer.alloc(body.length % 2)]);
  };
  const before = options.chunkBeforeFmt ? chunk("LIST", options.chunkBeforeFmt) : Buffer.alloc(0);
  const body = Buffer.concat([Buffer.from("WAVE"), before, chunk("fmt ", fmt), chunk("data", data, options.placeholderSizes ? 0x7ffff000 : data.length)]);
  return Buffer.concat([Buffer.from("RIFF"), Buffer.from(Uint32Array.of(options.placeholderSizes ? 0x7ffff024 : body.length).buffer), body]);
}

const values = (samples: Float32Array) => [...samples].map((v) => Number(v.toFixed(4)));

describe("WAV decoding", () => {
  it("reads integer PCM of every width and float, as -1..1", () => {
    expect(values(decodeWav(wav({ tag: 1, bits: 8, rate: 8_000, frames: [[0], [128], [255]] })).samples)).toEqual([-1, 0, 0.9922]);
    expect(values(decodeWav(wav({ tag: 1, bits: 16, rate: 16_000, frames: [[-32_768], [0], [16_384]] })).samples)).toEqual([-1, 0, 0.5]);
    expect(values(decodeWav(wav({ tag: 1, bits: 24, rate: 48_000, frames: [[-8_388_608], [4_194_304]] })).samples)).toEqual([-1, 0.5]);
    expect(values(decodeWav(wav({ tag: 1, bits: 32, rate: 44_100, frames: [[-1_073_741_824]] })).samples)).toEqual([-0.5]);
    expect(values(decodeWav(wav({ tag: 3, bits: 32, rate: 44_100, frames: [[0.25], [Number.NaN]] })).samples)).toEqual([0.25, 0]);
    expect(values(decodeWav(wav({ tag: 3, bits: 64, rate: 44_100, frames: [[-0.75]] })).samples)).toEqual([-0.75]);
    expect(values(decodeWav(wav({ tag: 1, bits: 16, rate: 96_000, frames: [[16_384]], extensible: true })).samples)).toEqual([0.5]);
  });

  it("mixes channels down to one and keeps the rate", () => {
    const decoded = decodeWav(wav({ tag: 1, bits: 16, rate: 44_100, frames: [[16_384, -16_384], [32_767, 32_767], [0, 16_384]] }));
    expect({ sampleRate: decoded.sampleRate, channels: decoded.channels, samples: values(decoded.samples) }).toEqual({ sampleRate: 44_100, channels: 2, samples: [0, 1, 0.25] });
  });

  it("reads what it wrote, a streamed file's placeholder sizes, and chunks of odd length before fmt", () => {
    const samples = Float32Array.of(0, 0.5, -0.5, 0.25);
    expect(values(decodeWav(encodeWav(samples, 16_000)).samples)).toEqual([0, 0.5, -0.5, 0.25]);
    const streamed = wav({ tag: 1, bits: 16, rate: 22_050, frames: [[16_384], [-16_384]], placeholderSizes: true, chunkBeforeFmt: Buffer.from("odd") });
    expect(decodeWav(streamed)).toMatchObject({ sampleRate: 22_050, samples: Float32Array.of(0.5, -0.5) });
  });

  it("says what is wrong with a file it cannot read", () => {
    expect(() => decodeWav(Buffer.from("ID3 not a wav at all"))).toThrow("not a RIFF/WAVE file");
    expect(() => decodeWav(Buffer.from("RIFF\u0004\u0000\u0000\u0000WAVE"))).toThrow("no fmt chunk");
    expect(() => decodeWav(wav({ tag: 0x55, bits: 16, rate: 16_000, frames: [[0]] }))).toThrow("format 85, 16 bits");
    expect(() => decodeWav(wav({ tag: 1, bits: 12, rate: 16_000, frames: [] }))).toThrow("not PCM or float");
    expect(() => decodeWav(wav({ tag: 1, bits: 16, rate: 100, frames: [[0]] }))).toThrow("at 100 Hz");
  });
});

describe("resampling", () => {
  const tone = (hz: number, rate: number, seconds: number) => Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => 0.8 * Math.sin((2 * Math.PI * hz * i) / rate));
  const rms = (samples: Float32Array) => Math.sqrt(samples.reduce((sum, v) => sum + v * v, 0) / samples.length);
  /** Upward zero crossings per second, away from the edges: the tone's frequency. */
  const frequency = (samples: Float32Array, rate: number) => {
    let crossings = 0;
    const from = Math.floor(samples.length * 0.1);
    const to = Math.floor(samples.length * 0.9);
    for (let i = from + 1; i < to; i++) if (samples[i - 1]! < 0 && samples[i]! >= 0) crossings++;
    return crossings / ((to - from) / rate);
  };

  it("keeps a tone's pitch and loudness going down (22050 → 16000) and up (8000 → 16000)", () => {
    for (const from of [22_050, 44_100, 8_000]) {
      const out = resample(tone(440, from, 1), from, 16_000);
      expect(out.length).toBe(16_000);
      expect(Math.abs(frequency(out, 16_000) - 440)).toBeLessThan(3);
      expect(rms(out.subarray(1_600, 14_400))).toBeCloseTo(0.8 / Math.SQRT2, 2);
    }
  });

  it("filters out what 16 kHz cannot hold instead of folding it back as a false tone", () => {
    // At 44.1 kHz, 11 kHz is real; sampled naively at 16 kHz it would alias to 5 kHz.
    const out = resample(tone(11_000, 44_100, 0.5), 44_100, 16_000);
    expect(rms(out.subarray(800, 7_200))).toBeLessThan(0.02);
  });

  it("returns audio already at the rate as it is", () => {
    const samples = tone(300, 16_000, 0.1);
    expect(resample(samples, 16_000, 16_000)).toBe(samples);
  });
});

describe("what the offline engine refuses", () => {
  const speech = encodeWav(Float32Array.of(0, 0.1, -0.1), 16_000);

  it("names the field and says why: another audio type, another language, a broken WAV", () => {
    expect(offlineAudioProblem("audio/wav", null, speech)).toBeNull();
    expect(offlineAudioProblem("audio/wav", "en-GB", speech)).toBeNull();
    expect(offlineAudioProblem("audio/ogg", null, speech)).toEqual({ field: "contentType", message: expect.stringContaining("reads audio/wav only, not audio/ogg") });
    expect(offlineAudioProblem("audio/wav", "de", speech)).toEqual({ field: "language", message: expect.stringContaining("English only, not de") });
    expect(offlineAudioProblem("audio/wav", null, Buffer.from("RIFF"))).toEqual({ field: "audioBase64", message: expect.stringContaining("not a RIFF/WAVE file") });
  });
});

describe("finding and running pocketsphinx", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "startales-stt-test-"));
    mkdirSync(join(dir, "bin"));
    mkdirSync(join(dir, "model", "en-us"), { recursive: true });
    for (const file of ["en-us/mdef", "en-us.lm.bin", "cmudict-en-us.dict"]) writeFileSync(join(dir, "model", file), "");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in engine: a script given the same arguments as pocketsphinx_continuous. */
  function fakeEngine(name: string, script: string): Pocketsphinx {
    const program = join(dir, "bin", name);
    writeFileSync(program, `#!/bin/sh\n${script}\n`);
    chmodSync(program, 0o755);
    const found = findPocketsphinx({ command: name, modelDir: join(dir, "model"), path: `/nonexistent:${join(dir, "bin")}` });
    if (!found.engine) throw new Error(found.missing);
    return found.engine;
  }

  it("looks the program up on PATH, checks the model's files, and names the Debian package when one is missing", () => {
    const engine = fakeEngine("ps-found", "exit 0");
    expect(engine).toEqual({ program: join(dir, "bin", "ps-found"), hmm: join(dir, "model", "en-us"), lm: join(dir, "model", "en-us.lm.bin"), dict: join(dir, "model", "cmudict-en-us.dict") });
    expect(findPocketsphinx({ command: "ps-nowhere", modelDir: join(dir, "model"), path: join(dir, "bin") }).missing).toBe(
      "ps-nowhere was not found (Debian: apt-get install pocketsphinx pocketsphinx-en-us)",
    );
    writeFileSync(join(dir, "bin", "ps-not-executable"), "");
    expect(findPocketsphinx({ command: "ps-not-executable", modelDir: join(dir, "model"), path: join(dir, "bin") }).engine).toBeNull();
    const noModel = findPocketsphinx({ command: join(dir, "bin", "ps-found"), modelDir: join(dir, "elsewhere") });
    expect(noModel.missing).toContain("apt-get install pocketsphinx-en-us");
    expect(noModel.missing).toContain(join(dir, "elsewhere", "en-us.lm.bin"));
  });

  it("hands the engine a 16 kHz WAV file by name, joins the utterances it prints, and removes the file", async () => {
    // Prints the input's RIFF tag and rate (bytes 24-25 of the header), then the path it was given.
    const engine = fakeEngine("ps-echo", 'test "$1" = -infile && test "$3" = -hmm || exit 9\nhead -c 4 "$2"; echo; od -An -tu2 -j24 -N2 "$2"\necho "  second utterance  "\necho "$2"');
    const heard = await runPocketsphinx(engine, encodeWav(new Float32Array(160), 16_000), { timeoutMs: 10_000 });
    const [riff, rate, second, third, path] = heard.split(" ");
    expect([riff, rate, second, third]).toEqual(["RIFF", "16000", "second", "utterance"]);
    expect(existsSync(path!)).toBe(false);
  });

  it("tells a timeout from a failure, and the driver maps them for routing", async () => {
    const slow = fakeEngine("ps-slow", "exec sleep 30");
    const started = Date.now();
    await expect(runPocketsphinx(slow, Buffer.alloc(44), { timeoutMs: 300 })).rejects.toMatchObject({ name: "EngineFailed", timedOut: true });
    expect(Date.now() - started).toBeLessThan(10_000);
    const broken = fakeEngine("ps-broken", "exit 3");
    await expect(runPocketsphinx(broken, Buffer.alloc(44), { timeoutMs: 10_000 })).rejects.toEqual(new EngineFailed(false, "pocketsphinx failed (exit code 3)"));

    const deployment = { ...builtinDeployments({ transcription: true }).find((d) => d.kind === "TRANSCRIPTION")!, timeoutMs: 300 } satisfies Deployment;
    const request: TranscriptionRequest = { kind: "TRANSCRIPTION", group: "transcription", audioSha: "0".repeat(64), contentType: "audio/wav", language: null };
    const audio = encodeWav(new Float32Array(1_600), 8_000);
    const call = { signal: new AbortController().signal, audio, maxOutputTokens: 100 };
    const kindOf = (stt: Pocketsphinx | null, req = request, options = call) =>
      createOfflineDriver({ useEspeak: false, stt, sttConcurrency: 1 })
        .run(deployment, req, options)
        .then(
          () => "succeeded",
          (error: unknown) => (error instanceof ProviderError ? error.kind : String(error)),
        );
    expect(await kindOf(slow)).toBe("timeout");
    expect(await kindOf(broken)).toBe("server");
    expect(await kindOf(null)).toBe("client");
    expect(await kindOf(broken, { ...request, contentType: "audio/flac" })).toBe("client");
    expect(await kindOf(broken, request, { ...call, audio: Buffer.from("RIFF") })).toBe("client");
  });

  it("returns what the engine heard as the job's text, with the deployment's model", async () => {
    const engine = fakeEngine("ps-words", 'echo "set a course"\necho "for the outer rim"');
    const deployment = builtinDeployments({ transcription: true }).find((d) => d.kind === "TRANSCRIPTION")!;
    expect(deployment).toMatchObject({ name: "offline-transcription", driver: "OFFLINE", modelGroup: "transcription", source: "BUILTIN" });
    expect(builtinDeployments({ transcription: false }).some((d) => d.kind === "TRANSCRIPTION")).toBe(false);
    const request: TranscriptionRequest = { kind: "TRANSCRIPTION", group: "transcription", audioSha: "0".repeat(64), contentType: "audio/wav", language: "en" };
    const result = await createOfflineDriver({ useEspeak: false, stt: engine, sttConcurrency: 1 }).run(deployment, request, { signal: new AbortController().signal, audio: encodeWav(new Float32Array(800), 44_100), maxOutputTokens: 100 });
    expect(result).toMatchObject({ text: "set a course for the outer rim", bytes: null, model: "pocketsphinx-en-us", usage: { promptTokens: 0 } });
    expect(result.usage.completionTokens).toBeGreaterThan(0);
  });
});

describe("engine slots", () => {
  it("runs at most `size` tasks at once; the next in line starts when one ends, in order, failures included", async () => {
    const slot = createSlots(2);
    const started: number[] = [];
    const finish: Record<number, { resolve: (value: number) => void; reject: (error: Error) => void }> = {};
    const task = (n: number) =>
      slot(() => {
        started.push(n);
        return new Promise<number>((resolve, reject) => (finish[n] = { resolve, reject }));
      });
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const results = [1, 2, 3, 4].map((n) => task(n).catch((error: Error) => error.message));
    await settle();
    expect(started).toEqual([1, 2]);
    finish[2]!.reject(new Error("engine failed"));
    await settle();
    expect(started).toEqual([1, 2, 3]);
    finish[1]!.resolve(1);
    await settle();
    expect(started).toEqual([1, 2, 3, 4]);
    finish[3]!.resolve(3);
    finish[4]!.resolve(4);
    expect(await Promise.all(results)).toEqual([1, "engine failed", 3, 4]);
    // Every slot came back: two start at once again.
    const again = [5, 6, 7].map((n) => task(n));
    await settle();
    expect(started.slice(4)).toEqual([5, 6]);
    for (const n of [5, 6]) finish[n]!.resolve(n);
    await settle();
    finish[7]!.resolve(7);
    expect(await Promise.all(again)).toEqual([5, 6, 7]);
  });
});
