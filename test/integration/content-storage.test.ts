import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Readable } from "node:stream";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
  BlobDigestMismatchError,
  InvalidBlobKeyError,
  type StorageDriver,
  createFilesystemDriver,
  createS3Driver,
} from "../../subgraphs/content/src/storage";
import { startS3rver } from "../testkit/s3rver";

/**
 * Content's blob storage (subgraphs/content/src/storage): one contract, run the same on the
 * filesystem driver (in a fresh temp directory) and on the S3 driver (against a real s3rver
 * on loopback). A blob is stored only whole and only when its bytes hash to its key; nothing
 * else, no temp file, no staging object, no file outside the store, is ever left behind.
 */

/** A store under test: its driver, and what a driver must never leave in it. */
type Store = {
  driver: StorageDriver;
  /** Whatever the store holds that is not a stored blob: temp files, staging objects, files outside the store. */
  strays(): Promise<string[]>;
  /** Makes a stored blob look stored at `when` (as the store itself would say: a file's mtime). */
  age(key: string, when: Date): Promise<void>;
  /** A driver of the same kind whose store is broken: its readiness must fail. */
  broken(): Promise<StorageDriver>;
  close(): Promise<void>;
};

const KiB = 1024;
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

function blob(size: number) {
  const bytes = randomBytes(size);
  return { bytes, key: sha256(bytes), size };
}

function chunksOf(bytes: Buffer, size = 64 * KiB): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** A blob's size, once its stored time is checked to be a time (a Date from node:fs is of another realm than jest's). */
async function statOf(driver: StorageDriver, key: string): Promise<{ size: number } | null> {
  const found = await driver.stat(key);
  if (found) expect(Number.isFinite(found.storedAt.getTime())).toBe(true);
  return found && { size: found.size };
}

const bodyOf = (bytes: Buffer) => Readable.from(chunksOf(bytes), { objectMode: false });

async function readAll(stream: Readable | null): Promise<Buffer> {
  if (!stream) throw new Error("expected a stream, the blob is missing");
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A body the test feeds chunk by chunk: `feed` waits until the driver has asked for more, so the previous chunk is in its hands. */
function trickle() {
  let asked = () => {};
  let demand = new Promise<void>((resolve) => (asked = resolve));
  const body = new Readable({ read: () => asked() });
  return {
    body,
    async feed(chunk: Buffer | null) {
      await demand;
      demand = new Promise((resolve) => (asked = resolve));
      body.push(chunk);
    },
  };
}

/** A body that sends some chunks, then fails, as a client that goes away mid-upload. */
function failingBody(bytes: Buffer, after: number) {
  const chunks = chunksOf(bytes, 16 * KiB);
  let sent = 0;
  return new Readable({
    read() {
      if (sent < after) this.push(chunks[sent++]);
      else this.destroy(new Error("the client went away"));
    },
  });
}

function describeStorageContract(name: string, open: () => Promise<Store>) {
  describe(name, () => {
    let store: Store;
    let driver: StorageDriver;
    beforeAll(async () => {
      store = await open();
      driver = store.driver;
    });
    afterAll(() => store?.close());

    it("reads a stored blob back as the bytes that were put, and stats it as their size", async () => {
      const { bytes, key, size } = blob(3 * KiB + 7);
      await driver.put(key, bodyOf(bytes), size);
      expect(await statOf(driver, key)).toEqual({ size });
      expect((await readAll(await driver.read(key))).equals(bytes)).toBe(true);
    });

    it("round-trips a 5 MB random blob byte for byte", async () => {
      const { bytes, key, size } = blob(5 * 1024 * KiB);
      await driver.put(key, bodyOf(bytes), size);
      expect(await statOf(driver, key)).toEqual({ size });
      expect(sha256(await readAll(await driver.read(key)))).toBe(key);
    });

    it("stores an empty blob like any other", async () => {
      const { bytes, key } = blob(0);
      await driver.put(key, bodyOf(bytes), 0);
      expect(await statOf(driver, key)).toEqual({ size: 0 });
      expect((await readAll(await driver.read(key))).length).toBe(0);
    });

    it("reads exactly a range's bytes: the first, the last, a middle slice, and the whole", async () => {
      const { bytes, key, size } = blob(200 * KiB + 3);
      await driver.put(key, bodyOf(bytes), size);
      const range = async (start: number, end: number) => readAll(await driver.read(key, { start, end }));
      expect(await range(0, 0)).toEqual(bytes.subarray(0, 1));
      expect(await range(size - 1, size - 1)).toEqual(bytes.subarray(size - 1));
      expect((await range(70_001, 140_000)).equals(bytes.subarray(70_001, 140_001))).toBe(true);
      expect((await range(0, size - 1)).equals(bytes)).toBe(true);
    });

    it("never stores a blob whose bytes do not match its key", async () => {
      const claimed = blob(40 * KiB);
      const sent = blob(40 * KiB);
      await expect(driver.put(claimed.key, bodyOf(sent.bytes), claimed.size)).rejects.toThrow(BlobDigestMismatchError);
      expect(await driver.stat(claimed.key)).toBeNull();
      expect(await driver.read(claimed.key)).toBeNull();
      expect(await store.strays()).toEqual([]);
    });

    it("refuses a body shorter or longer than announced, and keeps nothing of it", async () => {
      const { bytes, key, size } = blob(100 * KiB);
      await expect(driver.put(key, bodyOf(bytes.subarray(0, size - 1)), size)).rejects.toThrow(BlobDigestMismatchError);
      expect(await driver.stat(key)).toBeNull();
      // The first `size` bytes are the blob's own: only the excess can give this one away.
      await expect(driver.put(key, bodyOf(Buffer.concat([bytes, Buffer.from("!")])), size)).rejects.toThrow(BlobDigestMismatchError);
      expect(await driver.stat(key)).toBeNull();
      expect(await store.strays()).toEqual([]);
    });

    it("keeps nothing of a body that fails midway, not even a temp file", async () => {
      const { bytes, key, size } = blob(256 * KiB);
      await expect(driver.put(key, failingBody(bytes, 5), size)).rejects.toThrow("the client went away");
      expect(await driver.stat(key)).toBeNull();
      expect(await store.strays()).toEqual([]);
    });

    it("takes a put of a stored key as a no-op that still reads and checks the body", async () => {
      const { bytes, key, size } = blob(50 * KiB);
      await driver.put(key, bodyOf(bytes), size);
      const again = bodyOf(bytes);
      await driver.put(key, again, size);
      expect(again.readableEnded).toBe(true);
      // A wrong body for a stored key is still an error, and the stored bytes stay as they were.
      await expect(driver.put(key, bodyOf(randomBytes(size)), size)).rejects.toThrow(BlobDigestMismatchError);
      expect(sha256(await readAll(await driver.read(key)))).toBe(key);
      expect(await store.strays()).toEqual([]);
    });

    it("shows readers nothing of a blob until its put has resolved, then the whole of it", async () => {
      const { bytes, key, size } = blob(256 * KiB);
      const { body, feed } = trickle();
      const putting = driver.put(key, body, size);
      for (const chunk of chunksOf(bytes, 16 * KiB)) {
        await feed(chunk);
        expect(await driver.stat(key)).toBeNull();
        expect(await driver.read(key)).toBeNull();
      }
      // Every byte is in the driver's hands now; the blob still waits for the end of its body.
      expect(await driver.stat(key)).toBeNull();
      // What remains is one step the driver does not stream: a rename, or a CopyObject (atomic on
      // S3 and MinIO; s3rver's is a plain file copy no client can make atomic), so no polling there.
      await feed(null);
      await putting;
      expect(await statOf(driver, key)).toEqual({ size });
      expect(sha256(await readAll(await driver.read(key)))).toBe(key);
    });

    it("refuses a key that is not 64 lower-case hex digits in every operation, before touching the store", async () => {
      const key = blob(1).key;
      const invalid = ["../etc/passwd", key.toUpperCase(), key.slice(1), `${key.slice(0, 31)}/${key.slice(32)}`, `../../${key.slice(6)}`];
      for (const bad of invalid) {
        await expect(driver.put(bad, bodyOf(Buffer.from("x")), 1)).rejects.toThrow(InvalidBlobKeyError);
        await expect(driver.stat(bad)).rejects.toThrow(InvalidBlobKeyError);
        await expect(driver.read(bad)).rejects.toThrow(InvalidBlobKeyError);
        await expect(driver.read(bad, { start: 0, end: 0 })).rejects.toThrow(InvalidBlobKeyError);
        await expect(driver.delete(bad)).rejects.toThrow(InvalidBlobKeyError);
      }
      expect(await store.strays()).toEqual([]);
    });

    it("deletes a blob, and takes deleting a missing one as done", async () => {
      const { bytes, key, size } = blob(10 * KiB);
      await driver.put(key, bodyOf(bytes), size);
      await driver.delete(key);
      expect(await driver.stat(key)).toBeNull();
      expect(await driver.read(key)).toBeNull();
      await expect(driver.delete(key)).resolves.toBeUndefined();
      await expect(driver.delete(blob(10).key)).resolves.toBeUndefined();
    });

    it("lists every stored blob with when it was stored, and nothing a put left unfinished or a delete removed", async () => {
      const before = Date.now() - 2_000;
      const kept = blob(2 * KiB);
      const gone = blob(2 * KiB);
      await driver.put(kept.key, bodyOf(kept.bytes), kept.size);
      await driver.put(gone.key, bodyOf(gone.bytes), gone.size);
      await driver.delete(gone.key);
      const refused = blob(KiB);
      await expect(driver.put(refused.key, bodyOf(randomBytes(KiB)), refused.size)).rejects.toThrow(BlobDigestMismatchError);
      const listed = new Map<string, Date>();
      for await (const { key, storedAt } of driver.list()) listed.set(key, storedAt);
      expect(listed.has(kept.key)).toBe(true);
      expect(listed.has(gone.key)).toBe(false);
      expect(listed.has(refused.key)).toBe(false);
      expect(listed.get(kept.key)!.getTime()).toBeGreaterThanOrEqual(before);
      expect(listed.get(kept.key)!.getTime()).toBeLessThanOrEqual(Date.now() + 2_000);
      expect([...listed.keys()].every((key) => /^[0-9a-f]{64}$/.test(key))).toBe(true);
    });

    it("refreshes a blob's stored time when it is put again, so a sweep of old unnamed bytes spares it", async () => {
      const { bytes, key, size } = blob(4 * KiB);
      await driver.put(key, bodyOf(bytes), size);
      const longAgo = new Date(Date.now() - 3 * 24 * 3600_000);
      await store.age(key, longAgo);
      expect((await driver.stat(key))!.storedAt.getTime()).toBeLessThan(Date.now() - 2 * 24 * 3600_000);
      const before = Date.now() - 2_000;
      await driver.put(key, bodyOf(bytes), size);
      expect((await driver.stat(key))!.storedAt.getTime()).toBeGreaterThanOrEqual(before);
      expect(sha256(await readAll(await driver.read(key)))).toBe(key);
    });

    it("answers a key it never stored with null, for stat and read alike", async () => {
      const { key } = blob(10);
      expect(await driver.stat(key)).toBeNull();
      expect(await driver.read(key)).toBeNull();
      expect(await driver.read(key, { start: 0, end: 3 })).toBeNull();
    });

    it("is ready on a working store, and not on a broken one", async () => {
      expect(driver.readiness.name).toBe("storage");
      await driver.readiness.check();
      const broken = await store.broken();
      try {
        expect(broken.readiness.name).toBe("storage");
        await expect(broken.readiness.check()).rejects.toThrow();
      } finally {
        await broken.close();
      }
    });
  });
}

/** Every file under `root`, relative to it. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

describeStorageContract("the filesystem driver", async () => {
  // The store is one level down, so that a file written outside it, beside it, shows as a stray too.
  const base = await mkdtemp(join(tmpdir(), "content-storage-"));
  const elsewhere = await mkdtemp(join(tmpdir(), "content-storage-broken-"));
  const driver = createFilesystemDriver({ dir: join(base, "store") });
  const blobFile = /^store\/blobs\/([0-9a-f]{2})\/([0-9a-f]{2})\/\1\2[0-9a-f]{60}$/;
  return {
    driver,
    strays: async () => (await filesUnder(base)).filter((file) => !blobFile.test(file)),
    age: (key, when) => utimes(join(base, "store", "blobs", key.slice(0, 2), key.slice(2, 4), key), when, when),
    async broken() {
      const dir = join(elsewhere, "store");
      const doomed = createFilesystemDriver({ dir });
      // Root ignores permission bits, so a read-only directory would not do: a regular file in its place does.
      await rm(dir, { recursive: true });
      await writeFile(dir, "not a directory");
      return doomed;
    },
    async close() {
      await driver.close();
      await rm(base, { recursive: true, force: true });
      await rm(elsewhere, { recursive: true, force: true });
    },
  };
});

describeStorageContract("the S3 driver (s3rver)", async () => {
  const s3 = await startS3rver();
  const { directory, bucket, connection } = s3;
  const driver = createS3Driver({ ...connection, bucket });
  const lister = new S3Client({ ...connection, credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey } });
  return {
    driver,
    async strays() {
      const listed = await lister.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (listed.Contents ?? []).map((object) => object.Key ?? "");
      // s3rver keeps what it received of a PUT the client cut short (the driver does, for a body
      // that fails or has the wrong length), as an object it may write after the driver's cleanup
      // has deleted the key; S3 and MinIO store nothing of such a request. s3rver writes an
      // object's metadata file only when a PUT completes: a staging object without one is that
      // remnant. Any other, a staging object a put left after the server had finished, counts.
      const completed = (key: string) => existsSync(join(directory, bucket, `${key}._S3rver_metadata.json`));
      return keys.filter((key) => !/^blobs\/[0-9a-f]{64}$/.test(key) && (!key.startsWith("blobs/staging/") || completed(key)));
    },
    // s3rver answers an object's LastModified from its file's mtime.
    age: (key, when) => utimes(join(directory, bucket, `blobs/${key}._S3rver_object`), when, when),
    broken: async () => createS3Driver({ ...connection, bucket: "no-such-bucket" }),
    async close() {
      await driver.close();
      lister.destroy();
      await s3.close();
    },
  };
});

describe("the filesystem driver's temp directory", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "content-storage-tmp-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("loses the temp files a crashed process left over an hour ago when it starts, and keeps a live put's", async () => {
    await mkdir(join(dir, "tmp"));
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await writeFile(join(dir, "tmp", "crashed"), "half a blob");
    await utimes(join(dir, "tmp", "crashed"), twoHoursAgo, twoHoursAgo);
    await writeFile(join(dir, "tmp", "in-flight"), "a blob being written");
    const driver = createFilesystemDriver({ dir });
    // close() waits for the sweep the driver started.
    await driver.close();
    expect(await readdir(join(dir, "tmp"))).toEqual(["in-flight"]);
  });

  it("writes a put into its temp directory, then moves it into place and leaves nothing there", async () => {
    const driver = createFilesystemDriver({ dir });
    const { bytes, key, size } = blob(64 * KiB);
    const { body, feed } = trickle();
    const putting = driver.put(key, body, size);
    await feed(bytes);
    expect(await readdir(join(dir, "tmp"))).toHaveLength(1);
    await feed(null);
    await putting;
    expect(await readdir(join(dir, "tmp"))).toEqual([]);
    expect(await readdir(join(dir, "blobs", key.slice(0, 2), key.slice(2, 4)))).toEqual([key]);
    await driver.close();
  });
});
