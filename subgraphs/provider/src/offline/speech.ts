import { spawn, spawnSync } from "node:child_process";
import { synthesizeWav } from "./formant-synth";

/** espeak-ng on the PATH (Debian: `apt-get install espeak-ng`), checked once per process. */
let espeakPresent: boolean | undefined;
export function espeakAvailable(): boolean {
  espeakPresent ??= spawnSync("espeak-ng", ["--version"], { stdio: "ignore", timeout: 5_000 }).status === 0;
  return espeakPresent;
}

const VOICE = /^[a-z]{2,3}(-[a-z0-9]{1,8})?(\+[a-z0-9]{1,12})?$/i;

/**
 * espeak-ng writes WAV to a pipe without knowing its length, so the RIFF and data sizes are
 * placeholders (0x7fff…); set them to the real ones, as a seekable file would have them.
 */
export function fixWavSizes(wav: Buffer): Buffer {
  if (wav.length < 44 || wav.toString("ascii", 0, 4) !== "RIFF") return wav;
  wav.writeUInt32LE(wav.length - 8, 4);
  for (let offset = 12; offset + 8 <= wav.length; ) {
    const id = wav.toString("ascii", offset, offset + 4);
    if (id === "data") {
      wav.writeUInt32LE(wav.length - offset - 8, offset + 4);
      break;
    }
    offset += 8 + wav.readUInt32LE(offset + 4);
  }
  return wav;
}

/** WAV from espeak-ng; the text goes on stdin, never on the command line. */
function espeak(text: string, voice: string | null, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const args = ["--stdout", "--stdin", "-v", voice && VOICE.test(voice) ? voice : "en-us"];
    const child = spawn("espeak-ng", args, { stdio: ["pipe", "pipe", "ignore"], timeout: timeoutMs });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(fixWavSizes(Buffer.concat(chunks))) : reject(new Error(`espeak-ng exited with ${code}`))));
    child.stdin.end(text);
  });
}

/** Offline speech: espeak-ng when installed (and allowed), else the built-in formant synthesizer. */
export async function offlineSpeech(text: string, voice: string | null, options: { useEspeak: boolean; timeoutMs: number }): Promise<{ wav: Buffer; engine: string }> {
  if (options.useEspeak && espeakAvailable()) {
    try {
      return { wav: await espeak(text, voice, options.timeoutMs), engine: "espeak-ng" };
    } catch {
      // Fall through to the built-in engine: speech must not fail because espeak-ng did.
    }
  }
  return { wav: synthesizeWav(text, voice), engine: "startales-formant-1" };
}
