import { createHash } from "node:crypto";
import type { Db } from "../db";

export const sha256Of = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/**
 * Generated audio and images live in PostgreSQL (`content_blobs`, bytea), content-addressed
 * by sha256: the subgraph and the worker pool are separate processes (pods), and the
 * database is the one store both already share and back up; results are small (tens to
 * hundreds of KB). Moving the bytes to object storage (the content subgraph) later changes
 * only this file.
 */
export function createContentStore(db: Db) {
  return {
    async put(bytes: Buffer, contentType: string): Promise<string> {
      const sha256 = sha256Of(bytes);
      await db.contentBlob.upsert({ where: { sha256 }, create: { sha256, contentType, size: bytes.length, bytes: new Uint8Array(bytes) }, update: {} });
      return sha256;
    },
    async get(sha256: string): Promise<{ bytes: Buffer; contentType: string } | null> {
      const row = await db.contentBlob.findUnique({ where: { sha256 } });
      return row ? { bytes: Buffer.from(row.bytes), contentType: row.contentType } : null;
    },
    async exists(sha256: string): Promise<boolean> {
      return (await db.contentBlob.count({ where: { sha256 } })) > 0;
    },
  };
}

export type ContentStore = ReturnType<typeof createContentStore>;
