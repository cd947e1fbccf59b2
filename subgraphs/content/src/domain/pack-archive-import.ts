import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Role, badInput, conflict, requireWriter, type Viewer } from "@startales/service-kit";
import type { Db } from "../db";
import type { StorageDriver } from "../storage";
import { sniffMediaType } from "./media-type";
import { ArchiveRefusedError, openPackArchive, type ArchiveEntry, type ArchiveLimits, type ArchiveProblem } from "./pack-archive";
import { MAX_FILES_PER_VERSION, type PackService, type PackVersionRow } from "./pack-service";
import { acceptedTypes } from "./upload-rules";

export type ArchiveImportMode = "REPLACE" | "MERGE";
export type ArchiveImport = { version: PackVersionRow; files: number; bytes: number; newBlobs: number; skipped: string[] };

/** A file read whole to tell its type when this small (JSON has no signature), else its first bytes. */
const SNIFF_WHOLE_BELOW = 16 * 1024 * 1024;
const SNIFF_HEAD_BYTES = 64 * 1024;

type Unpacked = { path: string; sha256: string; size: number; mediaType: string; entry: ArchiveEntry };

/** Reads an entry once: its SHA-256 and the bytes its type is told from. */
async function digestOf(entry: ArchiveEntry): Promise<{ sha256: string; head: Buffer }> {
  const hash = createHash("sha256");
  const limit = entry.size <= SNIFF_WHOLE_BELOW ? entry.size : SNIFF_HEAD_BYTES;
  const head: Buffer[] = [];
  let kept = 0;
  for await (const chunk of (await entry.open()) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    if (kept < limit) {
      head.push(chunk);
      kept += chunk.length;
    }
  }
  return { sha256: hash.digest("hex"), head: Buffer.concat(head).subarray(0, limit) };
}

/**
 * A whole content pack uploaded as one zip (an asset of kind PACK_ARCHIVE, through a resumable
 * upload for a large one) unpacked into a DRAFT version: the archive's paths become the
 * manifest's. Nothing changes unless every entry passes: the archive's checks (pack-archive.ts),
 * then each file's type read from its bytes. Only bytes content does not have yet are stored,
 * so a new version of a pack that changed a few files writes only those. Files' blobs are
 * stored before the rows that name them commit, as every upload's are.
 */
export function createPackArchiveImporter(deps: { db: Db; storage: StorageDriver; packs: PackService; limits: ArchiveLimits; workDir: string; afterCommit: () => void }) {
  const { db, storage, packs } = deps;

  async function archiveOf(viewer: Viewer, assetId: string) {
    const writer = requireWriter(viewer);
    const asset = await db.asset.findUnique({ where: { id: assetId }, select: { id: true, sha256: true, kind: true, ownerId: true } });
    if (!asset || (asset.ownerId !== writer.userId && !writer.roles.includes(Role.ADMIN))) {
      throw badInput("No asset of yours has that id", [{ field: "assetId", message: "upload the zip first (kind=PACK_ARCHIVE)" }]);
    }
    if (asset.kind !== "PACK_ARCHIVE") throw badInput(`That asset is a ${asset.kind}, not a PACK_ARCHIVE`, [{ field: "assetId", message: "upload the zip with kind=PACK_ARCHIVE" }]);
    return asset;
  }

  /** The archive's bytes in a local file: yauzl reads the central directory at the end first, then each entry where it lies. */
  async function localCopy(sha256: string): Promise<string> {
    await mkdir(deps.workDir, { recursive: true });
    const path = join(deps.workDir, `archive-${randomUUID()}.zip`);
    const body = await storage.read(sha256);
    if (!body) throw new Error(`the archive's blob ${sha256} is missing from storage`);
    await pipeline(body, createWriteStream(path, { flags: "wx" }));
    return path;
  }

  /** First pass: every file hashed and typed; any problem refuses the archive before anything is stored. */
  async function unpackChecked(files: ArchiveEntry[]): Promise<Unpacked[]> {
    const problems: ArchiveProblem[] = [];
    const unpacked: Unpacked[] = [];
    const accepted = acceptedTypes("PACK_FILE");
    for (const entry of files) {
      try {
        const { sha256, head } = await digestOf(entry);
        const mediaType = sniffMediaType(head);
        if (mediaType === null || !accepted.includes(mediaType)) problems.push({ path: entry.path, message: `is ${mediaType ?? "of no accepted type"}; a pack holds ${accepted.join(", ")}` });
        else unpacked.push({ path: entry.path, sha256, size: entry.size, mediaType, entry });
      } catch (error) {
        // A corrupt deflate stream, or one that inflates past its declared size (yauzl counts).
        problems.push({ path: entry.path, message: `cannot be unpacked: ${(error as Error).message}` });
      }
      if (problems.length >= 20) break;
    }
    if (problems.length) throw new ArchiveRefusedError(problems);
    return unpacked;
  }

  /**
   * Second pass: the bytes storage does not have yet, stored; returns their hashes. Storage is
   * asked rather than the database: it is where the bytes must be. Bytes it has that no row
   * names yet are put again all the same, which refreshes their time, so that the orphan sweep
   * cannot take them before this import's rows commit.
   */
  async function storeMissing(unpacked: Unpacked[]): Promise<Set<string>> {
    const distinct = new Map(unpacked.map((file) => [file.sha256, file]));
    const named = new Set((await db.blob.findMany({ where: { sha256: { in: [...distinct.keys()] } }, select: { sha256: true } })).map((blob) => blob.sha256));
    const stored = new Set<string>();
    for (const [sha256, file] of distinct) {
      const present = (await storage.stat(sha256)) !== null;
      if (present && named.has(sha256)) continue;
      await storage.put(sha256, await file.entry.open(), file.size);
      if (!present) stored.add(sha256);
    }
    return stored;
  }

  /** The draft's manifest set from the archive in one transaction, the version still a DRAFT (a publish may have raced the unpacking). */
  async function commit(version: PackVersionRow, unpacked: Unpacked[], mode: ArchiveImportMode): Promise<void> {
    const distinct = [...new Map(unpacked.map((file) => [file.sha256, file])).values()];
    await db.$transaction(
      async (tx) => {
        const [row] = await tx.$queryRaw<{ status: string }[]>`SELECT status::text FROM pack_versions WHERE id = ${version.id}::uuid FOR UPDATE`;
        if (row?.status !== "DRAFT") throw conflict(`Version ${version.version} of ${version.packName} was ${row?.status ?? "deleted"} meanwhile: a published version never changes`);
        const inserted = await tx.$queryRaw<{ sha256: string }[]>`
          INSERT INTO blobs (sha256, size, media_type)
          SELECT * FROM unnest(${distinct.map((f) => f.sha256)}::text[], ${distinct.map((f) => f.size)}::bigint[], ${distinct.map((f) => f.mediaType)}::text[])
          ON CONFLICT (sha256) DO NOTHING RETURNING sha256`;
        // A row that was not there a moment ago: the last asset with these bytes may have been deleted meanwhile, and its bytes with it.
        const bySha = new Map(distinct.map((file) => [file.sha256, file]));
        for (const { sha256 } of inserted) {
          const file = bySha.get(sha256)!;
          if (!(await storage.stat(sha256))) await storage.put(sha256, await file.entry.open(), file.size);
        }
        if (mode === "REPLACE") await tx.packFile.deleteMany({ where: { versionId: version.id, path: { notIn: unpacked.map((f) => f.path) } } });
        await tx.$executeRaw`
          INSERT INTO pack_files (version_id, path, sha256)
          SELECT ${version.id}::uuid, * FROM unnest(${unpacked.map((f) => f.path)}::text[], ${unpacked.map((f) => f.sha256)}::text[])
          ON CONFLICT (version_id, path) DO UPDATE SET sha256 = EXCLUDED.sha256`;
        const count = await tx.packFile.count({ where: { versionId: version.id } });
        if (count > MAX_FILES_PER_VERSION) throw badInput(`A version holds at most ${MAX_FILES_PER_VERSION} files; with the archive's this one would hold ${count}`);
      },
      { timeout: 60_000 },
    );
  }

  return {
    async importArchive(viewer: Viewer, input: { versionId: string; assetId: string; mode: ArchiveImportMode; keepArchive: boolean }): Promise<ArchiveImport> {
      const version = await packs.draftFor(viewer, input.versionId);
      const archive = await archiveOf(viewer, input.assetId);
      const path = await localCopy(archive.sha256);
      try {
        const opened = await openPackArchive(path, deps.limits);
        try {
          const unpacked = await unpackChecked(opened.files);
          const stored = await storeMissing(unpacked);
          await commit(version, unpacked, input.mode);
          deps.afterCommit();
          return { version, files: unpacked.length, bytes: opened.unpackedBytes, newBlobs: stored.size, skipped: opened.skipped };
        } finally {
          opened.close();
        }
      } catch (error) {
        if (error instanceof ArchiveRefusedError) throw badInput(error.message, error.problems.map((p) => ({ field: p.path, message: p.message })));
        throw error;
      } finally {
        await rm(path, { force: true });
      }
    },
  };
}

export type PackArchiveImporter = ReturnType<typeof createPackArchiveImporter>;
