import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createLogger, signedIn } from "@startales/service-kit";
import { createDb, type Db } from "../../subgraphs/content/src/db";
import { createAssetService, type AssetService } from "../../subgraphs/content/src/domain/asset-service";
import { createBlobSweep } from "../../subgraphs/content/src/domain/blob-sweep";
import { createFilesystemDriver, type StorageDriver } from "../../subgraphs/content/src/storage";
import { required } from "../testkit/config";

/**
 * Content's orphan sweep, on content's real database and the filesystem driver: bytes nothing
 * names any more go once older than the grace period, and nothing anyone still needs or has
 * just stored goes with them.
 */

const GRACE_MS = 60 * 60 * 1000;
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const png = () => Buffer.concat([PNG, randomBytes(2_000)]);

let dir: string;
let db: Db;
let storage: StorageDriver;
let assets: AssetService;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "content-sweep-"));
  db = createDb(required("CONTENT_DATABASE_URL"), 2);
  storage = createFilesystemDriver({ dir });
  assets = createAssetService({ db, storage, quotaBytes: 64 * 1024 * 1024, afterCommit: () => {} });
});
afterAll(async () => {
  await db?.$disconnect();
  await storage?.close();
  await rm(dir, { recursive: true, force: true });
});

const blobPath = (key: string) => join(dir, "blobs", key.slice(0, 2), key.slice(2, 4), key);
/** Bytes stored now; with a row unless `row` is false. */
async function stored(bytes: Buffer, row = true): Promise<string> {
  const key = sha256(bytes);
  await storage.put(key, Readable.from([bytes]), bytes.length);
  if (row) await db.blob.create({ data: { sha256: key, size: bytes.length, mediaType: "image/png" } });
  return key;
}
const longAgo = () => new Date(Date.now() - 2 * GRACE_MS);
const ageBytes = (key: string) => utimes(blobPath(key), longAgo(), longAgo());
const ageRow = (key: string) => db.blob.update({ where: { sha256: key }, data: { createdAt: longAgo() } });
const fate = async (key: string) => ({ row: (await db.blob.findUnique({ where: { sha256: key } })) !== null, bytes: (await storage.stat(key)) !== null });

describe("the orphan sweep", () => {
  it("removes old bytes nothing names, and keeps what an asset or a pack names, what is recent, and what was just put again", async () => {
    const owner = randomUUID();
    const { asset } = await assets.upload(signedIn(owner, ["PLAYER"]), { kind: "AVATAR", bytes: png() });
    const named = asset.sha256;
    const inDraft = await stored(png());
    await db.contentPack.create({
      data: { name: `sweep-${randomUUID().slice(0, 8)}`, title: "Sweep", ownerId: owner, versions: { create: { version: "1.0.0", files: { create: { path: "a.png", sha256: inDraft } } } } },
    });
    const unreferenced = await stored(png());
    const recentRow = await stored(png());
    const unnamed = await stored(png(), false);
    const recentBytes = await stored(png(), false);
    const putAgainBytes = png();
    const putAgain = await stored(putAgainBytes, false);

    // Aged just before the sweep: another stack's sweep (every content sweeps when it starts) shares this database.
    await Promise.all([named, inDraft, unreferenced].map(ageRow));
    await Promise.all([named, inDraft, unreferenced, unnamed, putAgain].map(ageBytes));
    // Stored again a moment ago (a new upload of the same bytes, its row not yet committed): its time is now.
    await storage.put(putAgain, Readable.from([putAgainBytes]), putAgainBytes.length);

    const sweep = createBlobSweep({ db, storage, assets, graceMs: GRACE_MS, everyMs: GRACE_MS, batchSize: 2, logger: createLogger("sweep-test", "silent") });
    const result = await sweep.sweep();
    expect(result.unreferenced).toBeGreaterThanOrEqual(1);
    expect(result.unnamed).toBeGreaterThanOrEqual(1);

    expect(await fate(named)).toEqual({ row: true, bytes: true });
    expect(await fate(inDraft)).toEqual({ row: true, bytes: true });
    expect(await fate(recentRow)).toEqual({ row: true, bytes: true });
    expect(await fate(unreferenced)).toEqual({ row: false, bytes: false });
    expect(await fate(unnamed)).toEqual({ row: false, bytes: false });
    expect(await fate(recentBytes)).toEqual({ row: false, bytes: true });
    expect(await fate(putAgain)).toEqual({ row: false, bytes: true });

    // Once the asset goes, its bytes go with it (a deletion releases them at once, no sweep needed).
    await assets.delete(signedIn(owner, ["PLAYER"]), asset.id);
    expect(await fate(named)).toEqual({ row: false, bytes: false });
  });

  it("keeps a user at their quota from storing any bytes: a refused upload leaves nothing to sweep", async () => {
    const small = createAssetService({ db, storage, quotaBytes: 3_000, afterCommit: () => {} });
    const viewer = signedIn(randomUUID(), ["PLAYER"]);
    await small.upload(viewer, { kind: "AVATAR", bytes: png() });
    const refused = png();
    await expect(small.upload(viewer, { kind: "AVATAR", bytes: refused })).rejects.toMatchObject({ extensions: { reason: "QUOTA_EXCEEDED" } });
    expect(await fate(sha256(refused))).toEqual({ row: false, bytes: false });
  });
});
