/**
 * The baseline of bench/content.ts, in its own process (as each service is): a plain
 * `node:http` server that serves one file from disk at `/content/<its sha256>` as a static
 * file server does (a stat, then `fs.createReadStream`; Content-Length and a strong ETag, the
 * hash) honouring If-None-Match (304) and a single Range (206; beyond the end 416; anything
 * else the whole file), and stores `POST /upload` bodies as content's filesystem driver does
 * (hashed while written to a temporary file, fsynced, renamed to the hash, the directory
 * synced), with no database and no checks. Started with fork(file, uploadDir); sends its port.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

const [file, uploadDir] = process.argv.slice(2);
if (!file || !uploadDir) throw new Error("usage: static-file-server <file> <upload dir>");
const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex");
const path = `/content/${sha256}`;
const etag = `"${sha256}"`;
const tmp = join(uploadDir, "tmp");

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` of a file of `size`; undefined for anything else (served whole), null when beyond the end. */
function singleRange(header: string | undefined, size: number): { start: number; end: number } | null | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    return suffix === 0 ? null : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size) return null;
  return start <= end ? { start, end } : undefined;
}

const fail = (res: ServerResponse, status: number) => {
  if (!res.headersSent) res.writeHead(status, { "content-length": 0 });
  res.end();
};

async function upload(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const hash = createHash("sha256");
  const temp = join(tmp, randomUUID());
  const handle = await open(temp, "wx");
  try {
    const hashing = new Transform({ transform: (chunk: Buffer, _encoding, done) => { hash.update(chunk); done(null, chunk); } });
    // flush: fsynced before it closes, as content's driver does.
    await pipeline(req, hashing, handle.createWriteStream({ flush: true }));
    const key = hash.digest("hex");
    await rename(temp, join(uploadDir!, key));
    const dir = await open(uploadDir!, "r");
    await dir.sync().finally(() => dir.close());
    const body = JSON.stringify({ sha256: key });
    res.writeHead(201, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

const server = createServer((req, res) => {
  if (req.method === "POST" && req.url === "/upload") return void upload(req, res).catch(() => fail(res, 500));
  if ((req.method !== "GET" && req.method !== "HEAD") || req.url !== path) {
    req.resume();
    return fail(res, 404);
  }
  stat(file)
    .then((facts) => {
      const headers: Record<string, string | number> = { etag, "cache-control": "public, max-age=31536000, immutable", "accept-ranges": "bytes" };
      if (req.headers["if-none-match"] === etag) return void res.writeHead(304, headers).end();
      const range = singleRange(req.headers.range, facts.size);
      if (range === null) return void res.writeHead(416, { ...headers, "content-range": `bytes */${facts.size}`, "content-length": 0 }).end();
      res.writeHead(range ? 206 : 200, {
        ...headers,
        "content-type": "application/octet-stream",
        "content-length": range ? range.end - range.start + 1 : facts.size,
        ...(range ? { "content-range": `bytes ${range.start}-${range.end}/${facts.size}` } : {}),
      });
      if (req.method === "HEAD") return void res.end();
      return pipeline(createReadStream(file, range ?? {}), res);
    })
    .catch(() => fail(res, 500));
});

mkdir(tmp, { recursive: true })
  .then(() => server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port, path })))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
process.on("disconnect", () => process.exit(0));
