import { randomUUID } from "node:crypto";
import { constants, mkdirSync } from "node:fs";
import { access, mkdir, open, readdir, rename, rm, stat, unlink, utimes } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { BlobVerifier, verifyAndDiscard } from "./blob-verifier";
import { BLOB_KEY, type ByteRange, type StorageDriver, assertBlobKey } from "./storage-driver";

/** A temp file not written to for this long (its mtime is its last write) belongs to a process that crashed mid-put. */
const STALE_TEMP_MS = 60 * 60 * 1000;

// Not `instanceof Error`: in another realm (jest's module sandbox) fs errors fail that test.
const isErrno = (error: unknown, code: string) => typeof error === "object" && error !== null && (error as NodeJS.ErrnoException).code === code;

/**
 * Blobs under `<dir>/blobs/ab/cd/abcd…`: two levels of 256 keep directories small at millions
 * of blobs. A put writes into `<dir>/tmp` and renames into place, so a blob appears whole or
 * not at all; tmp is inside `dir` so that the rename stays on one filesystem (atomic).
 */
export function createFilesystemDriver({ dir }: { dir: string }): StorageDriver {
  const root = resolve(dir);
  const blobs = join(root, "blobs");
  const tmp = join(root, "tmp");
  // Synchronous because the factory is: it runs once at startup, and a directory that cannot be
  // created should stop the process there rather than fail every put.
  mkdirSync(blobs, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const sweeping = removeStaleTempFiles(tmp);

  const blobPath = (key: string) => {
    assertBlobKey(key);
    return join(blobs, key.slice(0, 2), key.slice(2, 4), key);
  };

  const exists = async (path: string) => {
    try {
      await stat(path);
      return true;
    } catch (error) {
      if (isErrno(error, "ENOENT")) return false;
      throw error;
    }
  };

  return {
    kind: "filesystem",

    async put(key, body, size) {
      const target = blobPath(key);
      if (await exists(target)) {
        await verifyAndDiscard(key, body, size);
        const now = new Date();
        // Removed meanwhile (a release of the same bytes): the caller's check after its row commits puts them again.
        await utimes(target, now, now).catch((error: unknown) => {
          if (!isErrno(error, "ENOENT")) throw error;
        });
        return;
      }
      const temp = join(tmp, randomUUID());
      // Opened before any byte is read, so that the file exists whatever happens next and a
      // failed put removes exactly it (a stream's lazy open could create it after the removal).
      const file = await open(temp, "wx");
      try {
        // flush: the stream fsyncs before it closes, and pipeline resolves only once it has
        // closed: after a crash the name must never point at bytes that were in the page cache only.
        await pipeline(body, new BlobVerifier(key, size), file.createWriteStream({ flush: true }));
        await mkdir(dirname(target), { recursive: true });
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      await syncDirectory(dirname(target));
    },

    async stat(key) {
      try {
        const found = await stat(blobPath(key));
        return { size: found.size, storedAt: found.mtime };
      } catch (error) {
        if (isErrno(error, "ENOENT")) return null;
        throw error;
      }
    },

    async read(key, range?: ByteRange) {
      // Opened here rather than by the stream, so that a missing blob is null and not a stream that errors later.
      let file;
      try {
        file = await open(blobPath(key), "r");
      } catch (error) {
        if (isErrno(error, "ENOENT")) return null;
        throw error;
      }
      return file.createReadStream(range ? { start: range.start, end: range.end } : {});
    },

    async delete(key) {
      try {
        await unlink(blobPath(key));
      } catch (error) {
        if (!isErrno(error, "ENOENT")) throw error;
      }
    },

    async *list() {
      // Only names a blob could have, two levels down, as blobPath makes them: anything else is not a blob.
      const level = /^[0-9a-f]{2}$/;
      for (const first of (await readdir(blobs)).filter((name) => level.test(name)).sort()) {
        for (const second of (await readdir(join(blobs, first)).catch(() => [])).filter((name) => level.test(name)).sort()) {
          const dir = join(blobs, first, second);
          for (const name of await readdir(dir).catch(() => [])) {
            if (!BLOB_KEY.test(name) || !name.startsWith(first + second)) continue;
            const stored = await stat(join(dir, name)).catch(() => null);
            if (stored) yield { key: name, storedAt: stored.mtime };
          }
        }
      }
    },

    readiness: {
      name: "storage",
      // Both directories, writable: a store whose directory was removed, remounted read-only or
      // replaced fails here (ENOENT, EROFS, ENOTDIR) rather than at the next upload.
      check: () => Promise.all([access(blobs, constants.W_OK), access(tmp, constants.W_OK)]),
    },

    async close() {
      await sweeping;
    },
  };
}

/** Makes a rename durable: the new directory entry is only on disk once the directory is synced. */
async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems (network mounts) refuse fsync on a directory; the blob is in place all the same.
    if (!isErrno(error, "EINVAL") && !isErrno(error, "ENOTSUP")) throw error;
  } finally {
    await handle.close();
  }
}

/** Best effort: a temp file that cannot be removed now will be at the next start. */
async function removeStaleTempFiles(tmp: string): Promise<void> {
  try {
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of await readdir(tmp)) {
      const path = join(tmp, name);
      try {
        if ((await stat(path)).mtimeMs < cutoff) await rm(path, { force: true });
      } catch {
        // Removed by another process sharing the volume, or unreadable: leave it.
      }
    }
  } catch {
    // tmp unreadable: readiness reports a broken store; sweeping is not worth failing over.
  }
}
