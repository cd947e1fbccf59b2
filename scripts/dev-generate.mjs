// What `npm run build` generates, made again by `npm run dev` for one subgraph at a time: its
// Prisma client when missing, its resolver types (graphql-codegen, the entries of codegen.yml
// whose schema is the subgraph's), and the composed supergraph (scripts/compose.ts).
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";

const run = promisify(execFile);
const tsxLoader = import.meta.resolve("tsx");

/** What a failed child printed, for the developer to read. */
const failure = (error) => `${error.stdout ?? ""}${error.stderr ?? ""}`.trim() || error.message;

const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : -1);

/** codegen.yml's entries generated from this subgraph's schema: { output file: its config }. */
function codegenEntries(root, name) {
  const config = parse(readFileSync(join(root, "codegen.yml"), "utf8"));
  const schema = resolve(root, "subgraphs", name, "schema.graphql");
  const generates = Object.fromEntries(Object.entries(config.generates ?? {}).filter(([, entry]) => typeof entry.schema === "string" && resolve(root, entry.schema) === schema));
  return { config: { ...config, generates }, outputs: Object.keys(generates).map((file) => resolve(root, file)) };
}

/**
 * Bundles the explorer the gateway serves at /explorer (scripts/build-explorer.mjs: skipped
 * when its inputs did not change); resolves { ok, output }.
 */
export async function buildExplorer(root) {
  try {
    await run(process.execPath, [join(root, "scripts", "build-explorer.mjs")], { cwd: root });
    return { ok: true, output: "" };
  } catch (error) {
    return { ok: false, output: failure(error) };
  }
}

/** The files the resolver types of this subgraph are generated into. */
export const resolverTypeFiles = (root, name) => codegenEntries(root, name).outputs;

/** Generates the subgraph's resolver types; resolves { ok, output } (output: the errors). */
export async function generateResolverTypes(root, name) {
  const { config, outputs } = codegenEntries(root, name);
  if (outputs.length === 0) return { ok: true, output: "" };
  // Paths in codegen.yml are relative to the root, where codegen runs; only the list of entries differs.
  const file = join(root, ".local", "dev", `codegen-${name}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(config, null, 2));
  try {
    await run(join(root, "node_modules", ".bin", "graphql-codegen"), ["--config", file, "--silent"], { cwd: root });
    return { ok: true, output: "" };
  } catch (error) {
    return { ok: false, output: failure(error) };
  }
}

/** Generates the subgraph's Prisma client (what the build's `prisma generate` step does). */
export async function generatePrismaClient(root, name) {
  try {
    await run(process.execPath, [join(root, "node_modules", "prisma", "build", "index.js"), "generate"], {
      cwd: join(root, "subgraphs", name),
      env: {
        ...process.env,
        CHECKPOINT_DISABLE: "1",
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
        // prisma generate only validates that the variable exists; it never connects.
        DATABASE_URL: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/unused",
      },
    });
    return { ok: true, output: "" };
  } catch (error) {
    return { ok: false, output: failure(error) };
  }
}

/**
 * What is missing or older than what it is generated from, for these subgraphs: so that
 * `npm run dev` runs in a fresh clone without a build first: [{ name, what, run }], run()
 * resolving as generateResolverTypes does.
 */
export function staleGenerated(root, names) {
  return names.flatMap((name) => {
    const dir = join(root, "subgraphs", name);
    const prismaSchema = join(dir, "prisma", "schema.prisma");
    const stale = [];
    if (existsSync(prismaSchema) && mtime(join(dir, "src", "generated", "prisma", "client.ts")) < mtime(prismaSchema)) {
      stale.push({ name, what: "Prisma client", run: () => generatePrismaClient(root, name) });
    }
    if (resolverTypeFiles(root, name).some((file) => mtime(file) < mtime(join(dir, "schema.graphql")))) {
      stale.push({ name, what: "resolver types", run: () => generateResolverTypes(root, name) });
    }
    return stale;
  });
}

/**
 * Composes supergraph.yaml's schemas into `out`, replacing the file in one rename and only
 * when its content changes (a gateway starting meanwhile never reads half a file). Resolves
 * { ok, changed, output } (output: the composition errors).
 */
export async function composeSupergraph(root, out) {
  const temporary = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  try {
    await run(process.execPath, ["--import", tsxLoader, join(root, "scripts", "compose.ts"), "--out", temporary], { cwd: root });
    const composed = readFileSync(temporary, "utf8");
    const changed = !existsSync(out) || readFileSync(out, "utf8") !== composed;
    if (changed) renameSync(temporary, out);
    return { ok: true, changed, output: "" };
  } catch (error) {
    return { ok: false, changed: false, output: failure(error) };
  } finally {
    rmSync(temporary, { force: true });
  }
}
