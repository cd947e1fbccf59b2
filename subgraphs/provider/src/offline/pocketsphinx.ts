import { execFile } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** The audio pocketsphinx's acoustic model was trained on, and so the only audio it reads. */
export const ENGINE_SAMPLE_RATE = 16_000;

/** An installed pocketsphinx: the program and the model files it is run with. */
export type Pocketsphinx = { program: string; hmm: string; lm: string; dict: string };

/** pocketsphinx, or why it cannot be used (naming the Debian package that would fix it). */
export type PocketsphinxLookup = { engine: Pocketsphinx; missing: null } | { engine: null; missing: string };

const isExecutableFile = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

const isFile = (path: string) => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** `command` as a path, or looked up on PATH as a shell would (no shell is involved). */
function resolveProgram(command: string, path: string): string | null {
  if (command.includes("/")) return isExecutableFile(command) ? command : null;
  for (const dir of path.split(delimiter)) {
    if (dir && isExecutableFile(join(dir, command))) return join(dir, command);
  }
  return null;
}

/**
 * Looks for the program and the US English model (the layout of Debian's pocketsphinx-en-us:
 * `en-us/` acoustic model, `en-us.lm.bin`, `cmudict-en-us.dict`). Only files are checked, no
 * process is started: it runs when a process starts, before it serves anything.
 */
export function findPocketsphinx(options: { command: string; modelDir: string; path?: string }): PocketsphinxLookup {
  const program = resolveProgram(options.command, options.path ?? process.env.PATH ?? "");
  if (!program) return { engine: null, missing: `${options.command} was not found (Debian: apt-get install pocketsphinx pocketsphinx-en-us)` };
  const engine = { program, hmm: join(options.modelDir, "en-us"), lm: join(options.modelDir, "en-us.lm.bin"), dict: join(options.modelDir, "cmudict-en-us.dict") };
  const absent = [join(engine.hmm, "mdef"), engine.lm, engine.dict].filter((file) => !isFile(file));
  if (absent.length) return { engine: null, missing: `the pocketsphinx model is incomplete at ${options.modelDir}, ${absent.join(", ")} missing (Debian: apt-get install pocketsphinx-en-us)` };
  return { engine, missing: null };
}

/** Why a run failed: the engine took too long, or it failed (exited badly, could not start). */
export class EngineFailed extends Error {
  constructor(
    readonly timedOut: boolean,
    message: string,
  ) {
    super(message);
    this.name = "EngineFailed";
  }
}

/**
 * The words pocketsphinx hears in `wav` (16 kHz mono 16-bit PCM); it prints one line per
 * utterance. The audio goes through a private temporary file, removed afterwards: the engine
 * opens its input by name, and Node's stdin pipes are sockets, which /dev/stdin cannot open.
 */
export async function runPocketsphinx(engine: Pocketsphinx, wav: Buffer, options: { timeoutMs: number; signal?: AbortSignal }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "startales-stt-"));
  try {
    const input = join(dir, "audio.wav");
    await writeFile(input, wav, { mode: 0o600 });
    const args = ["-infile", input, "-hmm", engine.hmm, "-lm", engine.lm, "-dict", engine.dict, "-logfn", "/dev/null"];
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(engine.program, args, { timeout: options.timeoutMs, maxBuffer: 1 << 20, signal: options.signal, encoding: "utf8" }, (error, out) => {
        if (!error) return resolve(out);
        // A timeout kills the engine without an exit code; an overflow or an abort carries a code of its own.
        const timedOut = (error as { killed?: boolean }).killed === true && typeof (error as { code?: unknown }).code !== "string" && !options.signal?.aborted;
        reject(new EngineFailed(timedOut, timedOut ? `pocketsphinx took longer than ${options.timeoutMs} ms` : `pocketsphinx failed (${describe(error)})`));
      });
    });
    return stdout
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean)
      .join(" ");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function describe(error: Error & { code?: unknown; signal?: unknown }): string {
  if (typeof error.code === "number") return `exit code ${error.code}`;
  if (typeof error.signal === "string") return `killed by ${error.signal}`;
  if (typeof error.code === "string") return error.code;
  return error.name;
}
