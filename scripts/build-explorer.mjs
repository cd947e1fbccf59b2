#!/usr/bin/env node
// Builds the schema explorer (GraphiQL, gateway/explorer/) into gateway/dist/explorer-bundle/: the
// page, its hashed assets (bundle, styles, fonts, Monaco's web workers) and a gzip of each,
// so the gateway serves it with no network at run time (docs/explorer.md). The example tabs
// come from the operation catalogue, packages/client/operations/*.graphql, as it is now.
// Skipped when nothing it reads has changed since the last build (npm test and npm start
// both build).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { parse } from "graphql";

const root = resolve(import.meta.dirname, "..");
const source = join(root, "gateway", "explorer");
const catalogue = join(root, "packages", "client", "operations");
// Not dist/explorer/: tsc writes gateway/src/explorer/ there.
const out = join(root, "gateway", "dist", "explorer-bundle");
const stampFile = join(out, ".inputs-sha256");
/** Where the page finds its assets; the gateway serves this directory (gateway/src/explorer/). */
const ASSETS_URL = "/explorer/assets/";

const filesUnder = (dir) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name))
        .sort()
    : [];
const catalogueFiles = () =>
  existsSync(catalogue)
    ? readdirSync(catalogue)
        .filter((name) => name.endsWith(".graphql"))
        .sort()
        .map((name) => join(catalogue, name))
    : [];

/** Everything the output depends on: the sources, the catalogue, the locked dependencies, this script. */
function inputsHash() {
  const hash = createHash("sha256");
  for (const file of [...filesUnder(source), ...catalogueFiles(), join(root, "package-lock.json"), import.meta.filename]) {
    hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

/**
 * The catalogue as the page uses it: one tab per file, its text as written (comments and
 * all; GraphiQL offers each of its operations to run, and its fragments are in it). A file
 * that does not parse is left out with a warning: `npm run check:operations` is where the
 * catalogue is checked.
 */
function readCatalogue() {
  const tabs = [];
  for (const file of catalogueFiles()) {
    const text = readFileSync(file, "utf8");
    try {
      parse(text);
    } catch (error) {
      console.warn(`build: explorer: left out ${relative(root, file)}: ${error.message}`);
      continue;
    }
    tabs.push({ file: basename(file), query: text });
  }
  return { tabs };
}

/** The catalogue as a module the bundle imports (gateway/explorer/build-inputs.d.ts types it). */
const cataloguePlugin = (data) => ({
  name: "catalogue",
  setup(builder) {
    builder.onResolve({ filter: /^explorer:catalogue$/ }, (args) => ({ path: args.path, namespace: "catalogue" }));
    builder.onLoad({ filter: /.*/, namespace: "catalogue" }, () => ({ contents: JSON.stringify(data), loader: "json" }));
  },
});

/** The hashed file esbuild wrote for an entry point (entryNames "[name]-[hash]"). */
function outputNamed(files, name, extension) {
  const found = files.find((file) => file.startsWith(`${name}-`) && file.endsWith(extension));
  if (!found) throw new Error(`explorer: esbuild wrote no ${name}${extension}`);
  return found;
}

const common = { absWorkingDir: root, bundle: true, minify: true, target: "es2022", logLevel: "warning", legalComments: "none", define: { "process.env.NODE_ENV": '"production"' } };

/** Monaco's web workers, each a classic script (worker-src 'self': no blob: workers). */
async function buildWorkers(dir) {
  const entries = {
    "editor.worker": "monaco-editor/esm/vs/editor/editor.worker.js",
    "json.worker": "monaco-editor/esm/vs/language/json/json.worker.js",
    "graphql.worker": "monaco-graphql/esm/graphql.worker.js",
  };
  const result = await build({ ...common, entryPoints: entries, outdir: dir, format: "iife", entryNames: "[name]-[hash]", metafile: true });
  const files = Object.keys(result.metafile.outputs).map((file) => basename(file));
  return Object.fromEntries(Object.keys(entries).map((name) => [name.replace(".worker", ""), outputNamed(files, name, ".js")]));
}

async function buildPage(dir, workers) {
  const result = await build({
    ...common,
    entryPoints: { explorer: join(source, "main.tsx") },
    outdir: dir,
    // One script and one stylesheet: esbuild's code splitting leaves the CSS of lazy chunks
    // (Monaco's) for the page to link itself, and the editor is needed at once anyway.
    format: "esm",
    jsx: "automatic",
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    loader: { ".ttf": "file", ".woff": "file", ".woff2": "file", ".svg": "file" },
    define: { ...common.define, EXPLORER_WORKERS: JSON.stringify(workers) },
    plugins: [cataloguePlugin(readCatalogue())],
    metafile: true,
  });
  const files = Object.keys(result.metafile.outputs).map((file) => basename(file));
  return { script: outputNamed(files, "explorer", ".js"), style: outputNamed(files, "explorer", ".css") };
}

// No inline script or style: the page's policy allows scripts and styles from the gateway only.
const page = ({ script, style }) => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Startales API explorer</title>
    <link rel="stylesheet" href="${ASSETS_URL}${style}">
    <script type="module" src="${ASSETS_URL}${script}"></script>
  </head>
  <body>
    <div id="explorer"></div>
    <noscript>The Startales API explorer needs JavaScript.</noscript>
  </body>
</html>
`;

/** A gzip beside each compressible asset, made once here rather than per request. */
function compress(dir) {
  for (const file of filesUnder(dir)) {
    if (!/\.(js|css|ttf|svg|json)$/.test(file) || statSync(file).size < 1024) continue;
    writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
  }
}

const hash = inputsHash();
if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === hash) {
  console.log("build: explorer unchanged (same inputs), kept");
  process.exit(0);
}

// The page's own type check (esbuild only strips types); its tsconfig is not part of tsc -b.
try {
  execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(source, "tsconfig.json")], { stdio: "inherit", cwd: root });
} catch {
  console.error("build: explorer: type errors in gateway/explorer/ (see above)");
  process.exit(1);
}

// Built aside and swapped in whole: a failed or interrupted build leaves the last one as it was.
const staging = `${out}.staging-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
const assets = join(staging, "assets");
mkdirSync(assets, { recursive: true });
try {
  const workers = await buildWorkers(assets);
  const entry = await buildPage(assets, workers);
  writeFileSync(join(staging, "index.html"), page(entry));
  compress(assets);
  writeFileSync(join(staging, ".inputs-sha256"), hash);
  rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
} catch (error) {
  rmSync(staging, { recursive: true, force: true });
  throw error;
}
