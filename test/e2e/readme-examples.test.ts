import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseConfig } from "@startales/service-kit";
import { contentOrigin, providerConfigSchema } from "../../subgraphs/provider/src/config";
import { required } from "../testkit/config";
import { startStack, type Stack } from "../testkit/stack";

/**
 * The examples of README.md and docs/cookbook.md, run as a reader runs them: each document's
 * shell blocks in order in one bash session (so variables carry from block to block), its
 * TypeScript blocks saved under the file name they give and run by the shell blocks, against
 * a test stack reached through a public origin of its own (as a reader's is the gateway's
 * URL, `G`). Every block is run or marked `<!-- not run: reason -->`. What a block prints is
 * checked: each GraphQL answer has data (every root field non-null) and no errors, except the
 * error codes its `# → CODE` comments name, in order; each `# → text` comment is a line it
 * prints (`…` stands for anything); every URL it prints is on the public origin.
 */

const root = join(__dirname, "..", "..");
const DOCUMENTS = ["README.md", "docs/cookbook.md"];
const SHELLS = ["sh", "bash", "shell"];
const BLOCK_TIMEOUT_MS = 90_000;

// ---------------------------------------------------------------------------------------
// The blocks of a document.

type Block = { document: string; line: number; heading: string; lang: string; file?: string; code: string; notRun?: string };

/** Fenced code blocks (``` or ~~~, indented or not), with the heading they are under and what marks them. */
function blocksOf(document: string): Block[] {
  const lines = readFileSync(join(root, document), "utf8").split("\n");
  const blocks: Block[] = [];
  let heading = "(top)";
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/.exec(lines[i]!);
    if (!open) {
      const title = /^#{1,6}\s+(.+?)\s*#*$/.exec(lines[i]!);
      if (title) heading = title[1]!;
      continue;
    }
    const [, indent, fence, lang, rest] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !new RegExp(`^\\s*${fence![0]}{${fence!.length},}\\s*$`).test(lines[j]!); j++) body.push(lines[j]!.slice(indent!.length));
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === "") before--;
    const marker = before >= 0 ? /^\s*<!--\s*not run:\s*(.*?)\s*-->\s*$/.exec(lines[before]!) : null;
    blocks.push({
      document,
      line: i + 1,
      heading,
      lang: lang!.toLowerCase(),
      file: /\bfile=(\S+)/.exec(rest!)?.[1],
      code: body.join("\n"),
      notRun: marker ? marker[1] : undefined,
    });
    i = j;
  }
  return blocks;
}

const isShell = (block: Block) => SHELLS.includes(block.lang);
const name = (block: Block) => `${block.document}:${block.line} (${block.heading})`;

// ---------------------------------------------------------------------------------------
// What a block's comments say it prints.

type Expectations = { codes: string[]; lines: RegExp[] };

/** `# → CODE` (an error code, alone) and `# → text` (a line, `…` for anything) comments. */
function expectationsOf(code: string): Expectations {
  const codes: string[] = [];
  const lines: RegExp[] = [];
  for (const [, said] of code.matchAll(/#\s*→\s*(.+?)\s*$/gm)) {
    if (/^[A-Z][A-Z_]+$/.test(said!)) codes.push(said!);
    else lines.push(new RegExp(`^${said!.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`));
  }
  return { codes, lines };
}

type Answer = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };

/** What went wrong with what a block printed; [] when it printed what it says. */
function problemsWith(block: Block, stdout: string, publicOrigin: string): string[] {
  const problems: string[] = [];
  const expected = expectationsOf(block.code);
  const printed = stdout.split("\n").filter((line) => line.trim() !== "");
  const answers: Answer[] = [];
  for (const line of printed) {
    try {
      const value = JSON.parse(line) as unknown;
      if (typeof value === "object" && value !== null && ("data" in value || "errors" in value)) answers.push(value as Answer);
    } catch {
      // Not JSON: checked by the `# → text` comments only.
    }
  }
  const codes = answers.flatMap((answer) => (answer.errors ?? []).map((error) => error.extensions?.code ?? `(no code: ${error.message})`));
  if (JSON.stringify(codes) !== JSON.stringify(expected.codes)) problems.push(`error codes ${JSON.stringify(codes)}, but its comments say ${JSON.stringify(expected.codes)}`);
  for (const answer of answers.filter((answer) => !answer.errors?.length)) {
    const empty = Object.entries(answer.data ?? {}).filter(([, value]) => value === null);
    if (!answer.data || empty.length > 0) problems.push(`an answer without data: ${JSON.stringify(answer)}`);
  }
  let from = 0;
  for (const line of expected.lines) {
    const at = printed.findIndex((text, index) => index >= from && line.test(text.trim()));
    if (at < 0) problems.push(`no line like ${line} (in order)`);
    else from = at + 1;
  }
  for (const [url] of stdout.matchAll(/\bhttps?:\/\/[^\s"'<>\\]+/g)) {
    if (new URL(url).origin !== publicOrigin) problems.push(`a URL that is not on the gateway's public origin ${publicOrigin}: ${url}`);
  }
  if (answers.length === 0 && expected.lines.length === 0) problems.push("printed no GraphQL answer and has no `# → text` comment: nothing shows that it worked");
  return problems;
}

// ---------------------------------------------------------------------------------------
// A bash session that runs one block after the other.

type Session = { dir: string; run(block: Block): Promise<{ stdout: string; stderr: string }>; close(): void };

function startSession(dir: string, env: NodeJS.ProcessEnv): Session {
  // Its own process group, so closing the session also ends what a block left running in the background.
  const bash: ChildProcessWithoutNullStreams = spawn("bash", ["--noprofile", "--norc"], { cwd: dir, env, detached: true });
  let stdout = "";
  let stderr = "";
  let exited: string | null = null;
  bash.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  bash.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  bash.on("exit", (code, signal) => (exited = `bash exited (${code ?? signal})`));
  // Stricter than a reader's shell: a failing command, an unset variable or a failing stage of
  // a pipe ends the session, so no block goes on from a failure unnoticed.
  bash.stdin.write("set -euo pipefail\n");
  let count = 0;
  return {
    dir,
    async run(block) {
      const done = `__block_${++count}_done__`;
      writeFileSync(join(dir, `.block-${count}.sh`), `${block.code}\n`);
      stdout = "";
      stderr = "";
      bash.stdin.write(`source .block-${count}.sh\necho ${done}\necho ${done} >&2\n`);
      const deadline = Date.now() + BLOCK_TIMEOUT_MS;
      // What the block printed, and the logs its background programs wrote (e.g. listen.ts's).
      const output = () =>
        [`stdout:\n${stdout}`, `stderr:\n${stderr}`, ...readdirSync(dir).filter((file) => file.endsWith(".log")).map((file) => `${file}:\n${readFileSync(join(dir, file), "utf8")}`)].join("\n");
      while (!(stdout.includes(`${done}\n`) && stderr.includes(`${done}\n`))) {
        if (exited) throw new Error(`${exited} in ${name(block)}\n${output()}`);
        if (Date.now() > deadline) throw new Error(`${name(block)} did not finish in ${BLOCK_TIMEOUT_MS / 1000} s\n${output()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return { stdout: stdout.replace(`${done}\n`, ""), stderr: stderr.replace(`${done}\n`, "") };
    },
    close() {
      try {
        process.kill(-bash.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
      bash.stdout.destroy();
      bash.stderr.destroy();
    },
  };
}

/** npm's own notices (an update is available…) are not the example's output. */
const withoutNpmNotices = (stderr: string) =>
  stderr
    .split("\n")
    .filter((line) => line.trim() !== "" && !/^npm (notice|warn) /.test(line))
    .join("\n");

// ---------------------------------------------------------------------------------------
// The gateway's public origin: a TCP forwarder in front of the test gateway, as an ingress is
// in front of a deployed one. It listens before the stack starts, so the provider can be told
// that content URLs start with it.

type PublicOrigin = { origin: string; forwardTo(port: number): void; close(): Promise<void> };

async function startPublicOrigin(): Promise<PublicOrigin> {
  let target: number | null = null;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (target === null) return void client.destroy();
    const upstream = connect(target, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    forwardTo: (port) => (target = port),
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------

describe.each(DOCUMENTS)("%s: its code blocks", (document) => {
  const blocks = blocksOf(document);

  it("are each run, saved as a file a later block runs, or marked `<!-- not run: reason -->`", () => {
    expect(blocks.filter(isShell).length).toBeGreaterThan(0);
    const problems = blocks.flatMap((block, index) => {
      if (block.notRun !== undefined) return block.notRun.length >= 10 ? [] : [`${name(block)}: "not run" needs a reason`];
      if (isShell(block)) return [];
      if (!["ts", "typescript"].includes(block.lang)) return [`${name(block)}: a \`${block.lang || "plain"}\` block: run it (sh) or mark it <!-- not run: reason -->`];
      if (!block.file) return [`${name(block)}: a TypeScript block without file=NAME: no block can run it`];
      const runner = blocks.slice(index + 1).find((later) => isShell(later) && later.notRun === undefined && later.code.includes(`npx tsx ${block.file}`));
      return runner ? [] : [`${name(block)}: no later shell block runs npx tsx ${block.file}`];
    });
    expect(problems).toEqual([]);
  });

  it("reach the gateway only through G, which a reader may point elsewhere", () => {
    const run = blocks.filter((block) => block.notRun === undefined);
    const hardCoded = run.filter((block) => {
      const allowed = block.code.replace(/\$\{G:-http:\/\/127\.0\.0\.1:4000\/graphql\}/g, "").replace(/process\.env\.G \?\? "http:\/\/127\.0\.0\.1:4000\/graphql"/g, "");
      return /:4000\b|localhost/.test(allowed);
    });
    expect(hardCoded.map(name)).toEqual([]);
  });
});

describe("content URLs, as the README says", () => {
  it("start with PROVIDER_PUBLIC_URL, the gateway's public origin: by default the local stack's gateway on GATEWAY_PORT", () => {
    const origin = (env: Record<string, string>) =>
      contentOrigin(parseConfig(providerConfigSchema, { GATEWAY_SIGNING_SECRET: "s".repeat(32), ...env }), "http://127.0.0.1:4004");
    expect(origin({})).toBe("http://127.0.0.1:4000");
    expect(origin({ GATEWAY_PORT: "4100" })).toBe("http://127.0.0.1:4100");
    expect(origin({ PROVIDER_PUBLIC_URL: "https://api.startales.example/" })).toBe("https://api.startales.example");
    expect(origin({ PROVIDER_PUBLIC_URL: "self" })).toBe("http://127.0.0.1:4004");
    expect(() => origin({ PROVIDER_PUBLIC_URL: "ftp://files.example" })).toThrow(/PROVIDER_PUBLIC_URL/);
  });
});

describe("the examples, run against a test stack", () => {
  let stack: Stack;
  let publicOrigin: PublicOrigin;
  let workDir: string;

  beforeAll(async () => {
    publicOrigin = await startPublicOrigin();
    stack = await startStack({ logLevel: "warn", providerEnv: { PROVIDER_PUBLIC_URL: publicOrigin.origin }, contentEnv: { CONTENT_PUBLIC_BASE_URL: publicOrigin.origin } });
    publicOrigin.forwardTo(Number(new URL(stack.gatewayUrl).port));
    // Inside the repository (in the git-ignored .local/), so the examples' programs find
    // graphql-ws, ws and tsx as a reader's do at the repository's root.
    mkdirSync(join(root, ".local"), { recursive: true });
    workDir = mkdtempSync(join(root, ".local", "readme-examples-"));
    await promisify(execFile)("jq", ["--version"]).catch(() => {
      throw new Error("the examples need jq (apt-get install jq)");
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await publicOrigin?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  describe.each(DOCUMENTS)("%s", (document) => {
    const blocks = blocksOf(document).filter((block) => block.notRun === undefined);
    let session: Session;
    let failed: string | null = null;

    beforeAll(() => {
      const dir = join(workDir, document.replace(/\W+/g, "-"));
      mkdirSync(dir);
      session = startSession(dir, {
        ...process.env,
        G: `${publicOrigin.origin}/graphql`,
        // npm run admin changes this run's identity database, never a developer's.
        IDENTITY_DATABASE_URL: required("IDENTITY_DATABASE_URL"),
      });
    });
    afterAll(() => session?.close());

    it.each(blocks.map((block) => [name(block), block] as const))("%s", async (_name, block) => {
      if (failed) throw new Error(`not run: ${failed} failed, and the blocks after it build on it`);
      try {
        if (!isShell(block)) {
          writeFileSync(join(session.dir, block.file!), `${block.code}\n`);
          // A reader copies it into a TypeScript project: it must type-check, strictly.
          await promisify(execFile)(
            "npx",
            ["tsc", "--noEmit", "--strict", "--target", "es2022", "--module", "node16", "--esModuleInterop", "--skipLibCheck", "--types", "node", block.file!],
            { cwd: session.dir },
          ).catch((error: { stdout?: string; message: string }) => {
            throw new Error(`${block.file} does not type-check:\n${error.stdout ?? error.message}`);
          });
          return;
        }
        const { stdout, stderr } = await session.run(block);
        const problems = problemsWith(block, stdout, publicOrigin.origin);
        if (withoutNpmNotices(stderr) !== "") problems.push(`wrote to stderr:\n${stderr}`);
        if (problems.length > 0) throw new Error(`${problems.join("\n")}\n--- it printed:\n${stdout}`);
      } catch (error) {
        failed = name(block);
        throw error;
      }
    }, BLOCK_TIMEOUT_MS + 30_000);
  });
});
