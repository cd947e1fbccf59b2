import type { Readable } from "node:stream";
import yauzl from "yauzl";
import { checkPackPath } from "./pack-path";

/**
 * Reading a content pack uploaded as one zip, with every check a zip's maker could try to get
 * past done on the central directory before a byte is unpacked: paths that escape the pack,
 * links, encrypted or unknown compression, too many files, files or totals too large, entries
 * that compress too well (a zip bomb) or share their bytes (an overlapping bomb), the same path
 * twice (or in two cases). While unpacking, yauzl counts the bytes each entry really inflates to
 * and fails past its declared size, so a header that lies is caught too. yauzl (rather than
 * unzipper or adm-zip): it reads the central directory rather than trusting local headers,
 * streams, and validates sizes and names itself.
 */
export type ArchiveLimits = {
  /** Files (not folders, not skipped litter). */
  maxFiles: number;
  maxFileBytes: number;
  maxUnpackedBytes: number;
  /** Unpacked to packed bytes, for an entry past BOMB_FLOOR_BYTES and for the whole archive. */
  maxRatio: number;
};

/** Below this, an entry may compress as well as it likes (a JSON file of one repeated value). */
const BOMB_FLOOR_BYTES = 1024 * 1024;
/** A local file header's fixed part: an entry's bytes start at least this far past its offset, plus its name. */
const LOCAL_HEADER_BYTES = 30;
const MAX_PROBLEMS = 20;

/** What operating systems add to the zips they make, which is never part of a pack. */
const LITTER = [/^__MACOSX(\/|$)/, /(^|\/)\.DS_Store$/, /(^|\/)Thumbs\.db$/, /(^|\/)desktop\.ini$/];

export type ArchiveEntry = { path: string; size: number; open: () => Promise<Readable> };
export type ArchiveProblem = { path: string; message: string };

/** The archive is refused; `problems` say why, by path (at most MAX_PROBLEMS of them). */
export class ArchiveRefusedError extends Error {
  constructor(readonly problems: ArchiveProblem[]) {
    super(`The archive cannot be unpacked into a pack: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
  }
}

export type OpenedArchive = { files: ArchiveEntry[]; skipped: string[]; unpackedBytes: number; close: () => void };

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
/** "Version made by"'s high byte: the host whose file attributes the entry carries. */
const UNIX_HOST = 3;

/** Opens the zip at `path` (a local file) and checks every entry; refuses the whole archive at the first pass if any entry is wrong. */
export async function openPackArchive(path: string, limits: ArchiveLimits): Promise<OpenedArchive> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true });
  } catch (error) {
    throw new ArchiveRefusedError([{ path: "(archive)", message: `not a zip archive that can be read: ${(error as Error).message}` }]);
  }
  try {
    return checkEntries(zip, await entriesOf(zip, limits), limits);
  } catch (error) {
    zip.close();
    throw error;
  }
}

async function entriesOf(zip: yauzl.ZipFile, limits: ArchiveLimits): Promise<yauzl.Entry[]> {
  // Litter and folders are few; a central directory that names far more entries than files allowed is refused unread.
  if (zip.entryCount > limits.maxFiles * 2 + 100) {
    throw new ArchiveRefusedError([{ path: "(archive)", message: `${zip.entryCount} entries; a pack holds at most ${limits.maxFiles} files` }]);
  }
  const entries: yauzl.Entry[] = [];
  try {
    for await (const entry of zip.eachEntry()) entries.push(entry);
  } catch (error) {
    // yauzl's own refusals: a name with a backslash, an absolute or `..` path, a broken directory.
    throw new ArchiveRefusedError([{ path: "(archive)", message: (error as Error).message }]);
  }
  return entries;
}

function checkEntries(zip: yauzl.ZipFile, entries: yauzl.Entry[], limits: ArchiveLimits): OpenedArchive {
  const problems: ArchiveProblem[] = [];
  const problem = (path: string, message: string) => problems.length < MAX_PROBLEMS && problems.push({ path, message });
  const files: yauzl.Entry[] = [];
  const skipped: string[] = [];
  const seen = new Map<string, string>();
  let unpacked = 0;
  let packed = 0;

  for (const entry of entries) {
    const name = entry.fileName;
    const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
    const unixHost = entry.versionMadeBy >>> 8 === UNIX_HOST;
    if (unixHost && mode === S_IFLNK) {
      problem(name, "is a symbolic link; a pack holds only files");
      continue;
    }
    if (name.endsWith("/")) continue;
    if (LITTER.some((pattern) => pattern.test(name))) {
      skipped.push(name);
      continue;
    }
    if (unixHost && mode !== 0 && mode !== S_IFREG) {
      problem(name, "is not a regular file");
      continue;
    }
    const pathProblem = checkPackPath(name);
    if (pathProblem) {
      problem(name, pathProblem);
      continue;
    }
    if (entry.isEncrypted()) problem(name, "is encrypted");
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) problem(name, `uses compression method ${entry.compressionMethod}; stored and deflated are accepted`);
    const folded = name.toLowerCase();
    const earlier = seen.get(folded);
    if (earlier !== undefined) problem(name, earlier === name ? "appears twice" : `differs from ${earlier} only in case (they would be one file on Windows and macOS)`);
    seen.set(folded, name);
    if (entry.uncompressedSize > limits.maxFileBytes) problem(name, `unpacks to ${entry.uncompressedSize} bytes; a file may have at most ${limits.maxFileBytes}`);
    if (entry.uncompressedSize > BOMB_FLOOR_BYTES && entry.uncompressedSize > limits.maxRatio * Math.max(1, entry.compressedSize)) {
      problem(name, `unpacks to ${entry.uncompressedSize} bytes from ${entry.compressedSize}, more than ${limits.maxRatio} times (a zip bomb?)`);
    }
    unpacked += entry.uncompressedSize;
    packed += entry.compressedSize;
    files.push(entry);
  }

  if (files.length === 0 && problems.length === 0) problem("(archive)", "holds no files");
  if (files.length > limits.maxFiles) problem("(archive)", `${files.length} files; a pack holds at most ${limits.maxFiles}`);
  if (unpacked > limits.maxUnpackedBytes) problem("(archive)", `unpacks to ${unpacked} bytes; an archive may unpack to at most ${limits.maxUnpackedBytes}`);
  if (unpacked > BOMB_FLOOR_BYTES && unpacked > limits.maxRatio * Math.max(1, packed)) problem("(archive)", `unpacks to ${unpacked} bytes from ${packed}, more than ${limits.maxRatio} times (a zip bomb?)`);
  problems.push(...overlaps(entries).slice(0, Math.max(0, MAX_PROBLEMS - problems.length)));
  if (problems.length) throw new ArchiveRefusedError(problems);

  return {
    files: files.map((entry) => ({ path: entry.fileName, size: entry.uncompressedSize, open: () => zip.openReadStreamPromise(entry) })),
    skipped,
    unpackedBytes: unpacked,
    close: () => zip.close(),
  };
}

/** Entries whose bytes begin inside another's: how a zip of a few kilobytes names terabytes (one deflated run read by every entry). */
function overlaps(entries: yauzl.Entry[]): ArchiveProblem[] {
  const byOffset = [...entries].sort((a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader);
  const found: ArchiveProblem[] = [];
  for (let i = 1; i < byOffset.length; i++) {
    const previous = byOffset[i - 1]!;
    const end = previous.relativeOffsetOfLocalHeader + LOCAL_HEADER_BYTES + previous.fileNameLength + previous.compressedSize;
    if (byOffset[i]!.relativeOffsetOfLocalHeader < end) found.push({ path: byOffset[i]!.fileName, message: `its bytes overlap ${previous.fileName}'s (an overlapping zip bomb?)` });
  }
  return found;
}
