import { existsSync, readFileSync, readdirSync } from "node:fs";
import { extname, join } from "node:path";

/** Where scripts/build-explorer.mjs writes the explorer, from src/explorer/ and from dist/explorer/ alike. */
export const DEFAULT_BUNDLE_DIR = join(__dirname, "..", "..", "dist", "explorer-bundle");

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".ttf": "font/ttf",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".svg": "image/svg+xml",
  ".json": "application/json; charset=utf-8",
};

export type Asset = { body: Buffer; gzip?: Buffer; contentType: string };

export type ExplorerBundle = {
  /** index.html: the page, served at /explorer and to browsers at GET /graphql. */
  page: Buffer;
  /** By file name (hashed by the build); nothing else under the directory is reachable. */
  assets: ReadonlyMap<string, Asset>;
};

/**
 * The built explorer, read into memory once at start-up (a few MB): serving it then costs
 * a map lookup, and a request path is only ever a key of that map, never a file path, so
 * no request can read anything else. Undefined when it has not been built.
 */
export function loadExplorerBundle(dir: string = DEFAULT_BUNDLE_DIR): ExplorerBundle | undefined {
  const pageFile = join(dir, "index.html");
  const assetsDir = join(dir, "assets");
  if (!existsSync(pageFile) || !existsSync(assetsDir)) return undefined;
  const assets = new Map<string, Asset>();
  const files = readdirSync(assetsDir, { withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => entry.name);
  for (const name of files) {
    const contentType = CONTENT_TYPES[extname(name)];
    // .gz files are the compressed twins below, not assets of their own.
    if (!contentType) continue;
    const gzipName = `${name}.gz`;
    assets.set(name, {
      body: readFileSync(join(assetsDir, name)),
      contentType,
      ...(files.includes(gzipName) ? { gzip: readFileSync(join(assetsDir, gzipName)) } : {}),
    });
  }
  return { page: readFileSync(pageFile), assets };
}
