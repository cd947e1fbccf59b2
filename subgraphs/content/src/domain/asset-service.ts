import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { GraphQLError } from "graphql";
import { Topics, eventData } from "@startales/contracts";
import { ErrorCode, Role, activeTraceparent, notFound, type Viewer } from "@startales/service-kit";
import type { Db } from "../db";
import type { Asset, Prisma } from "../generated/prisma/client";
import type { AssetKind, AssetVisibility } from "../generated/prisma/enums";
import type { StorageDriver } from "../storage";
import { BlobDigestMismatchError } from "../storage";
import { sniffMediaType } from "./media-type";
import { acceptedTypes, defaultVisibility, uploaderFor, type Uploader } from "./upload-rules";

export type Upload = {
  kind: AssetKind;
  visibility?: AssetVisibility;
  name?: string;
  idempotencyKey?: string;
  /** The media type the client declared (Content-Type), checked against the bytes. */
  declaredType?: string;
  /** The SHA-256 the client computed (hex), checked against the bytes. */
  declaredSha256?: string;
  bytes: Buffer;
};

/** A file uploaded in parts, staged until it is whole: `open` reads it, `head` is its start (all of it when small). */
export type StagedUpload = {
  kind: AssetKind;
  visibility?: AssetVisibility;
  name?: string;
  declaredType?: string;
  sha256: string;
  size: number;
  head: Buffer;
  open: () => Readable;
};

type Committed = StagedUpload & { idempotencyKey?: string };

export type AssetRow = Asset & { size: number; mediaType: string };

/** A refusal of the HTTP request itself, with its status and a `reason` programs can read. */
export const refusal = (status: number, reason: string, message: string) =>
  new GraphQLError(message, { extensions: { code: ErrorCode.BAD_REQUEST, reason, http: { status } } });

/** Bytes a user's assets add up to (a blob counts once per asset that has it). */
async function usedBy(client: Prisma.TransactionClient, ownerId: string): Promise<number> {
  const [{ used }] = await client.$queryRaw<[{ used: bigint | null }]>`SELECT sum(b.size) AS used FROM assets a JOIN blobs b ON b.sha256 = a.sha256 WHERE a.owner_id = ${ownerId}::uuid`;
  return Number(used ?? 0);
}

const lockBlob = (tx: Prisma.TransactionClient, sha256: string) => tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`content-blob:${sha256}`}))`;

/**
 * Declared types that say nothing of the file: none, bytes, and the defaults clients put on a
 * body they were not told the type of (curl's form encoding for --data-binary). The type served
 * is always the one read from the bytes; a declared type only has to agree with it.
 */
const GENERIC_TYPES = new Set(["", "application/octet-stream", "application/x-www-form-urlencoded"]);
/** A declared type that agrees with what the bytes are (JSON is text: fetch sends a string body as text/plain). */
const agrees = (declared: string, sniffed: string) => GENERIC_TYPES.has(declared) || declared === sniffed || (sniffed === "application/json" && declared === "text/plain");
const mediaTypeOf = (header: string | undefined) => (header ?? "").split(";")[0]!.trim().toLowerCase();

/** The bytes' stored facts joined to the asset: what every read of an asset answers. */
const withBlob = { blob: { select: { size: true, mediaType: true } } } as const;
const flatten = (row: Asset & { blob: { size: bigint; mediaType: string } }): AssetRow => {
  const { blob, ...asset } = row;
  return { ...asset, size: Number(blob.size), mediaType: blob.mediaType };
};

/**
 * Uploads, reads and deletions of assets. The bytes are stored (and verified by the driver)
 * before the row that names them commits, so a committed asset always has its bytes; bytes
 * stored by a request that then failed are unreferenced and harmless (content-addressed), and
 * are removed when an asset that had them goes (`release`).
 */
export function createAssetService(deps: { db: Db; storage: StorageDriver; quotaBytes: number; afterCommit: () => void }) {
  const { db, storage } = deps;

  async function byIdempotencyKey(ownerId: string | null, key: string | undefined): Promise<AssetRow | null> {
    if (!key || ownerId === null) return null;
    const row = await db.asset.findUnique({ where: { ownerId_idempotencyKey: { ownerId, idempotencyKey: key } }, include: withBlob });
    return row ? flatten(row) : null;
  }

  /**
   * Removes the bytes of `sha256` once no asset has them (after the deleting transaction
   * committed). Under the blob's lock, which an upload of the same bytes also takes: an upload
   * either commits its asset first (and the bytes stay) or finds the row gone and stores the
   * bytes again.
   */
  async function release(sha256: string): Promise<boolean> {
    return db.$transaction(async (tx) => {
      await lockBlob(tx, sha256);
      const removed = await tx.$executeRaw`
        DELETE FROM blobs b WHERE b.sha256 = ${sha256}
          AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.sha256 = b.sha256)
          AND NOT EXISTS (SELECT 1 FROM pack_files p WHERE p.sha256 = b.sha256)`;
      if (removed > 0) await storage.delete(sha256);
      return removed > 0;
    });
  }

  /**
   * Removes bytes no blob row names, stored before `cutoff`: under the blob's lock, which an
   * upload of the same bytes takes before its row, and only when the driver still says they are
   * that old (a put again refreshes their time). True when they went.
   */
  async function removeUnnamed(sha256: string, cutoff: Date): Promise<boolean> {
    return db.$transaction(async (tx) => {
      await lockBlob(tx, sha256);
      if (await tx.blob.findUnique({ where: { sha256 }, select: { sha256: true } })) return false;
      const stored = await storage.stat(sha256);
      if (!stored || stored.storedAt >= cutoff) return false;
      await storage.delete(sha256);
      return true;
    });
  }

  async function deleteAssets(where: Prisma.AssetWhereInput, reason: "OWNER" | "ADMIN" | "ACCOUNT_ERASED"): Promise<AssetRow[]> {
    const gone = await db.$transaction(async (tx) => {
      const rows = await tx.asset.findMany({ where, include: withBlob });
      if (rows.length === 0) return [];
      await tx.asset.deleteMany({ where: { id: { in: rows.map((row) => row.id) } } });
      await tx.outboxEvent.createMany({
        data: rows.map((row) => ({
          topic: Topics.assets,
          type: "ASSET_DELETED",
          aggregateId: row.id,
          version: 2,
          data: eventData(Topics.assets, "ASSET_DELETED", { ownerId: row.ownerId, sha256: row.sha256, reason }),
          traceparent: activeTraceparent(),
        })),
      });
      return rows.map(flatten);
    });
    if (gone.length) deps.afterCommit();
    for (const sha256 of new Set(gone.map((row) => row.sha256))) await release(sha256);
    return gone;
  }

  /**
   * What every upload comes to: the type read from the bytes and checked, the quota, the bytes
   * stored (and verified) by the driver, then in one transaction the blob's row, the asset and
   * its event. `head`: the whole file, or at least its first bytes, to read its type from.
   */
  async function commit(uploader: Uploader, upload: Committed): Promise<AssetRow> {
    const { sha256, size } = upload;
    const mediaType = sniffMediaType(upload.head);
    if (mediaType === null || !acceptedTypes(upload.kind).includes(mediaType)) {
      throw refusal(415, "UNSUPPORTED_MEDIA_TYPE", `${upload.kind} accepts ${acceptedTypes(upload.kind).join(", ")}; these bytes are ${mediaType ?? "none of them"}`);
    }
    const declared = mediaTypeOf(upload.declaredType);
    if (!agrees(declared, mediaType)) {
      throw refusal(415, "UNSUPPORTED_MEDIA_TYPE", `The request declared ${declared}, but the bytes are ${mediaType}`);
    }
    // Checked again under the user's lock below; asked first too, so that a user at their quota stores no bytes at all.
    if (uploader.quotaApplies && uploader.ownerId && (await usedBy(db, uploader.ownerId)) + size > deps.quotaBytes) {
      throw refusal(413, "QUOTA_EXCEEDED", `Your assets may add up to ${deps.quotaBytes} bytes`);
    }

    await storage.put(sha256, upload.open(), size);
    const created = await db.$transaction(async (tx) => {
      if (uploader.quotaApplies && uploader.ownerId) {
        // One upload of a user at a time past this point, so two cannot both fit the same room.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`content-quota:${uploader.ownerId}`}))`;
        const used = await usedBy(tx, uploader.ownerId);
        if (used + size > deps.quotaBytes) throw refusal(413, "QUOTA_EXCEEDED", `Your assets may add up to ${deps.quotaBytes} bytes; ${used} are used`);
      }
      await lockBlob(tx, sha256);
      const inserted = await tx.$executeRaw`INSERT INTO blobs (sha256, size, media_type) VALUES (${sha256}, ${size}, ${mediaType}) ON CONFLICT (sha256) DO NOTHING`;
      // A release of the same bytes may have removed them since they were put above.
      if (inserted > 0 && !(await storage.stat(sha256))) await storage.put(sha256, upload.open(), size);
      const visibility = upload.visibility ?? defaultVisibility(upload.kind);
      const asset = await tx.asset.create({
        data: { sha256, ownerId: uploader.ownerId, kind: upload.kind, visibility, name: upload.name ?? null, idempotencyKey: uploader.ownerId ? (upload.idempotencyKey ?? null) : null },
        include: withBlob,
      });
      await tx.outboxEvent.create({
        data: {
          topic: Topics.assets,
          type: "ASSET_UPLOADED",
          aggregateId: asset.id,
          version: 1,
          data: eventData(Topics.assets, "ASSET_UPLOADED", { ownerId: asset.ownerId, kind: asset.kind, visibility, sha256, size, mediaType, deduplicated: inserted === 0 }),
          traceparent: activeTraceparent(),
        },
      });
      return flatten(asset);
    });
    deps.afterCommit();
    return created;
  }

  return {
    /** Stores an upload; the same idempotency key again answers the first asset (`replayed`). */
    async upload(viewer: Viewer, upload: Upload): Promise<{ asset: AssetRow; replayed: boolean }> {
      const uploader = uploaderFor(viewer, upload.kind);
      const earlier = await byIdempotencyKey(uploader.ownerId, upload.idempotencyKey);
      if (earlier) return { asset: earlier, replayed: true };
      const sha256 = createHash("sha256").update(upload.bytes).digest("hex");
      if (upload.declaredSha256 !== undefined && upload.declaredSha256.toLowerCase() !== sha256) {
        throw refusal(400, "CHECKSUM_MISMATCH", `The body's SHA-256 is ${sha256}, not the ${upload.declaredSha256} the request declared`);
      }
      try {
        return { asset: await commit(uploader, { ...upload, sha256, size: upload.bytes.length, head: upload.bytes, open: () => Readable.from([upload.bytes]) }), replayed: false };
      } catch (error) {
        // Two requests with one idempotency key at once: the second finds the first's asset.
        if ((error as { code?: string }).code === "P2002") {
          const first = await byIdempotencyKey(uploader.ownerId, upload.idempotencyKey);
          if (first) return { asset: first, replayed: true };
        }
        throw error;
      }
    },

    /**
     * Stores a file uploaded in parts (resumable-uploads.ts), from where it was staged. The
     * driver checks the bytes against the hash the client declared when it began, as it stores
     * them: a file that does not match is never stored, and nothing of it is visible meanwhile.
     */
    async uploadStaged(viewer: Viewer, staged: StagedUpload): Promise<AssetRow> {
      const uploader = uploaderFor(viewer, staged.kind);
      try {
        return await commit(uploader, staged);
      } catch (error) {
        if (error instanceof BlobDigestMismatchError) throw refusal(460, "CHECKSUM_MISMATCH", `The file's bytes are not the SHA-256 ${staged.sha256} declared when the upload began`);
        throw error;
      }
    },

    async byId(id: string): Promise<AssetRow | null> {
      const row = await db.asset.findUnique({ where: { id }, include: withBlob });
      return row ? flatten(row) : null;
    },

    async ofOwner(ownerId: string, first: number, after?: { createdAt: Date; id: string }): Promise<AssetRow[]> {
      const rows = await db.asset.findMany({
        where: { ownerId, ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}) },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: first,
        include: withBlob,
      });
      return rows.map(flatten);
    },

    release,
    removeUnnamed,

    /** Bytes a user's assets add up to, against CONTENT_USER_QUOTA_BYTES. */
    usedBytes: (ownerId: string): Promise<number> => usedBy(db, ownerId),

    /** What a GET of the blob may serve: its type and size, and whether a public asset or a published pack makes it public. */
    async blobFacts(sha256: string): Promise<{ size: number; mediaType: string; public: boolean } | null> {
      const rows = await db.$queryRaw<{ size: bigint; media_type: string; public: boolean }[]>`
        SELECT b.size, b.media_type,
          EXISTS (SELECT 1 FROM assets a WHERE a.sha256 = b.sha256 AND a.visibility = 'PUBLIC')
          OR EXISTS (SELECT 1 FROM pack_files p JOIN pack_versions v ON v.id = p.version_id WHERE p.sha256 = b.sha256 AND v.status <> 'DRAFT') AS public
        FROM blobs b WHERE b.sha256 = ${sha256}`;
      const row = rows[0];
      return row ? { size: Number(row.size), mediaType: row.media_type, public: row.public } : null;
    },

    /** The owner deletes their asset, or an admin any. */
    async delete(viewer: Viewer, id: string): Promise<AssetRow> {
      const asset = await db.asset.findUnique({ where: { id } });
      const admin = viewer.kind === "user" && viewer.roles.includes(Role.ADMIN);
      // Someone else's asset is as unknown to a player as one that does not exist.
      if (!asset || (!admin && (viewer.kind !== "user" || asset.ownerId !== viewer.userId))) throw notFound("No such asset");
      const [gone] = await deleteAssets({ id }, viewer.kind === "user" && asset.ownerId === viewer.userId ? "OWNER" : "ADMIN");
      if (!gone) throw notFound("No such asset");
      return gone;
    },

    /** A deleted account's assets go, and their bytes with them unless another asset has them. */
    async eraseOwner(ownerId: string): Promise<number> {
      return (await deleteAssets({ ownerId }, "ACCOUNT_ERASED")).length;
    },
  };
}

export type AssetService = ReturnType<typeof createAssetService>;
