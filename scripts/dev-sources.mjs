// Which files a process started from its TypeScript sources runs, for `npm run dev`: its entry
// point and, transitively, every file of the repository it imports (type-only imports too,
// which costs at most a needless restart), plus the files it reads that are named to it (a
// subgraph's schema.graphql). dev.mjs records each file's content hash when it starts a
// process and restarts the process when one of them hashes differently: a save that changes
// nothing, or an editor writing a file in several steps, restarts nothing more.
// Imports are found by their string literals (`from "…"`, `import("…")`, `require("…")`,
// `import "…"`), which is what this repository writes; a commented-out import counts too.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

const SPECIFIER = /(?:\bfrom|\bimport|\brequire\s*\(|\bimport\s*\()\s*["']([^"'\n]+)["']/g;
const SOURCE = /\.[cm]?tsx?$/;

/** `aliases` maps bare specifiers to files (workspace packages run from their sources). */
export function createSourceGraph({ aliases = {} } = {}) {
  // file → { hash, imports } (imports undefined for what is not TypeScript); null: missing.
  const files = new Map();

  function resolveImport(from, specifier) {
    if (aliases[specifier]) return aliases[specifier];
    if (!specifier.startsWith(".")) return undefined; // a dependency, not ours
    const base = resolve(dirname(from), specifier);
    const stem = base.replace(/\.[cm]?js$/, "");
    const candidates = [`${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}.cts`, base, `${base}/index.ts`];
    return candidates.find((file) => existsSync(file) && statSync(file).isFile());
  }

  function read(file) {
    if (!files.has(file)) {
      let entry = null;
      try {
        const text = readFileSync(file, "utf8");
        const imports = SOURCE.test(file)
          ? [...new Set([...text.matchAll(SPECIFIER)].map((m) => resolveImport(file, m[1])).filter(Boolean))]
          : undefined;
        entry = { hash: createHash("sha1").update(text).digest("hex"), imports };
      } catch {
        // Missing (deleted, or being replaced): hashes as nothing, imports nothing.
      }
      files.set(file, entry);
    }
    return files.get(file);
  }

  return {
    /** The content hash of a file as last read; null for a file that is not there. */
    hash: (file) => read(file)?.hash ?? null,
    /** Forgets what was read of these files: they are read again when next asked about. */
    forget(changed) {
      for (const file of changed) files.delete(file);
    },
    /** Every file the roots lead to, with its hash: what a process started now runs. */
    closure(roots) {
      const seen = new Map();
      const pending = [...roots];
      while (pending.length > 0) {
        const file = pending.pop();
        if (seen.has(file)) continue;
        const entry = read(file);
        seen.set(file, entry?.hash ?? null);
        for (const imported of entry?.imports ?? []) pending.push(imported);
      }
      return seen;
    },
  };
}
