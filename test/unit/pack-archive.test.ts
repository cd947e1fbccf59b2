import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipOf } from "../testkit/zip";
import { ArchiveRefusedError, openPackArchive, type ArchiveLimits, type OpenedArchive } from "../../subgraphs/content/src/domain/pack-archive";

/**
 * A content pack's zip is checked whole before a byte is unpacked: what a hostile or careless
 * zip could do (escape the pack, link elsewhere, expand to fill the disk, hide one file's bytes
 * under many names) is refused, with every problem named by path.
 */

const dir = mkdtempSync(join(tmpdir(), "pack-archive-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIMITS: ArchiveLimits = { maxFiles: 50, maxFileBytes: 64 * 1024 * 1024, maxUnpackedBytes: 128 * 1024 * 1024, maxRatio: 100 };

/** Every occurrence of `from` (a name: in the local header and the central directory) becomes `to`, of the same length: what yazl refuses to write. */
function patched(zip: Buffer, from: string, to: string): Buffer {
  expect(to.length).toBe(from.length);
  const out = Buffer.from(zip);
  let at = out.indexOf(from, 0, "latin1");
  expect(at).toBeGreaterThanOrEqual(0);
  while (at >= 0) {
    out.write(to, at, "latin1");
    at = out.indexOf(from, at + 1, "latin1");
  }
  return out;
}

/** The central directory's record of the entry named `name` (its offset in the zip). */
function centralRecord(zip: Buffer, name: string): number {
  for (let at = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])); at >= 0; at = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), at + 4)) {
    const nameLength = zip.readUInt16LE(at + 28);
    if (zip.subarray(at + 46, at + 46 + nameLength).toString("latin1") === name) return at;
  }
  throw new Error(`no central record for ${name}`);
}

let written = 0;
async function open(zip: Buffer, limits: ArchiveLimits = LIMITS): Promise<OpenedArchive> {
  const path = join(dir, `${written++}.zip`);
  writeFileSync(path, zip);
  return openPackArchive(path, limits);
}

async function problemsOf(zip: Buffer, limits: ArchiveLimits = LIMITS): Promise<{ path: string; message: string }[]> {
  try {
    (await open(zip, limits)).close();
  } catch (error) {
    if (error instanceof ArchiveRefusedError) return error.problems;
    throw error;
  }
  return [];
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe("a pack's zip", () => {
  it("lists its files by path, leaves out folders and what operating systems add, and unpacks each file's bytes", async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(5_000)]);
    const archive = await open(
      await zipOf([
        { name: "ships/" },
        { name: "ships/corvette.png", bytes: png, compress: false },
        { name: "lang/en.json", bytes: json({ corvette: "Corvette" }) },
        { name: "__MACOSX/ships/._corvette.png", bytes: randomBytes(10) },
        { name: "ships/.DS_Store", bytes: randomBytes(10) },
      ]),
    );
    try {
      expect(archive.files.map((file) => [file.path, file.size])).toEqual([
        ["ships/corvette.png", png.length],
        ["lang/en.json", json({ corvette: "Corvette" }).length],
      ]);
      expect(archive.skipped).toEqual(["__MACOSX/ships/._corvette.png", "ships/.DS_Store"]);
      expect(archive.unpackedBytes).toBe(png.length + json({ corvette: "Corvette" }).length);
      const chunks: Buffer[] = [];
      for await (const chunk of (await archive.files[0]!.open()) as AsyncIterable<Buffer>) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(png)).toBe(true);
    } finally {
      archive.close();
    }
  });

  it("is refused when a path escapes the pack, is absolute, has a backslash, or is not plain", async () => {
    const named = (name: string) => zipOf([{ name: "ok.json" }, { name }]);
    // yazl will not write these names; they are patched in, as a hostile tool would write them.
    expect(await problemsOf(patched(await named("aa/escape.json"), "aa/escape.json", "../escape.json"))).toEqual([{ path: "(archive)", message: expect.stringContaining("invalid relative path") }]);
    expect(await problemsOf(patched(await named("xabs.json"), "xabs.json", "/abs.json"))).toEqual([{ path: "(archive)", message: expect.stringContaining("absolute path") }]);
    expect(await problemsOf(patched(await named("a_b.json"), "a_b.json", "a\\b.json"))).toEqual([{ path: "(archive)", message: expect.stringContaining("invalid characters") }]);
    expect(await problemsOf(await named(".hidden/x.json"))).toEqual([{ path: ".hidden/x.json", message: expect.stringContaining("must be letters") }]);
    expect(await problemsOf(await named("a/./b.json"))).toEqual([{ path: "a/./b.json", message: expect.stringContaining("must be letters") }]);
  });

  it("is refused when an entry is a link or not a regular file, or is encrypted", async () => {
    expect(await problemsOf(await zipOf([{ name: "ok.json" }, { name: "evil.json", bytes: Buffer.from("/etc/passwd"), mode: 0o120777 }]))).toEqual([{ path: "evil.json", message: expect.stringContaining("symbolic link") }]);
    expect(await problemsOf(await zipOf([{ name: "ok.json" }, { name: "fifo.json", mode: 0o010644 }]))).toEqual([{ path: "fifo.json", message: "is not a regular file" }]);
    const zip = await zipOf([{ name: "ok.json" }, { name: "secret.json" }]);
    const record = centralRecord(zip, "secret.json");
    zip.writeUInt16LE(zip.readUInt16LE(record + 8) | 1, record + 8);
    expect(await problemsOf(zip)).toEqual([{ path: "secret.json", message: "is encrypted" }]);
  });

  it("is refused when an entry or the whole unpacks to far more than it packs (a zip bomb), or past the size limits", async () => {
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    expect(await problemsOf(await zipOf([{ name: "bomb.json", bytes: zeros }]))).toEqual([
      { path: "bomb.json", message: expect.stringMatching(/more than 100 times \(a zip bomb\?\)/) },
      { path: "(archive)", message: expect.stringMatching(/more than 100 times/) },
    ]);
    // Under the floor, anything compresses as well as it likes; past the file and total limits, nothing passes.
    expect(await problemsOf(await zipOf([{ name: "small.json", bytes: Buffer.alloc(512 * 1024, 0x20) }]))).toEqual([]);
    const random = randomBytes(3 * 1024 * 1024);
    expect(await problemsOf(await zipOf([{ name: "big.glb", bytes: random }]), { ...LIMITS, maxFileBytes: 2 * 1024 * 1024 })).toEqual([{ path: "big.glb", message: expect.stringContaining("a file may have at most 2097152") }]);
    expect(await problemsOf(await zipOf([{ name: "a.glb", bytes: random }, { name: "b.glb", bytes: randomBytes(3 * 1024 * 1024) }]), { ...LIMITS, maxUnpackedBytes: 5 * 1024 * 1024 })).toEqual([
      { path: "(archive)", message: expect.stringContaining("may unpack to at most 5242880") },
    ]);
  });

  it("catches an entry whose header lies about its size when it is unpacked", async () => {
    const zip = await zipOf([{ name: "liar.json", bytes: Buffer.alloc(200_000, 0x20) }]);
    // Declared 1,000 bytes in the central directory (what the checks read): it inflates to 200,000.
    zip.writeUInt32LE(1_000, centralRecord(zip, "liar.json") + 24);
    const archive = await open(zip);
    try {
      expect(archive.files.map((file) => file.size)).toEqual([1_000]);
      const read = async () => {
        for await (const _chunk of (await archive.files[0]!.open()) as AsyncIterable<Buffer>);
      };
      await expect(read()).rejects.toThrow(/too many bytes/);
    } finally {
      archive.close();
    }
  });

  it("is refused when entries share their bytes (an overlapping zip bomb)", async () => {
    const zip = await zipOf([{ name: "a.json", bytes: json({ a: 1 }) }, { name: "b.json", bytes: json({ b: 2 }) }]);
    // b's central record points at a's local header: two names, one run of bytes.
    zip.writeUInt32LE(zip.readUInt32LE(centralRecord(zip, "a.json") + 42), centralRecord(zip, "b.json") + 42);
    expect(await problemsOf(zip)).toEqual([{ path: expect.stringMatching(/^[ab]\.json$/), message: expect.stringContaining("overlap") }]);
  });

  it("is refused when it holds the same path twice, two paths differing only in case, too many files, or none", async () => {
    expect(await problemsOf(await zipOf([{ name: "ships/Corvette.png" }, { name: "ships/corvette.png" }]))).toEqual([{ path: "ships/corvette.png", message: expect.stringContaining("only in case") }]);
    expect(await problemsOf(await zipOf([{ name: "a.json" }, { name: "a.json" }]))).toEqual([{ path: "a.json", message: "appears twice" }]);
    const many = Array.from({ length: 6 }, (_, i) => ({ name: `f${i}.json` }));
    expect(await problemsOf(await zipOf(many), { ...LIMITS, maxFiles: 5 })).toEqual([{ path: "(archive)", message: "6 files; a pack holds at most 5" }]);
    expect(await problemsOf(await zipOf([{ name: "empty/" }, { name: ".DS_Store" }]))).toEqual([{ path: "(archive)", message: "holds no files" }]);
  });

  it("is refused when it is no zip at all, with a clear problem rather than a crash", async () => {
    expect(await problemsOf(Buffer.from("PK\u0003\u0004 but nothing more"))).toEqual([{ path: "(archive)", message: expect.stringContaining("not a zip archive") }]);
    expect(await problemsOf(randomBytes(4096))).toEqual([{ path: "(archive)", message: expect.stringContaining("not a zip archive") }]);
  });
});
