import { createHash } from "node:crypto";
import type { Db } from "../db";

export const sha256Of = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/**
 * The provider's own bytes in PostgreSQL (`content_blobs`, bytea), content-addressed by
 * sha256, which the subgraph and the worker pool share: the audio a player uploads to be
 * transcribed (private input, read back by the worker pool, never content to serve), and the
 * audio and images generated before they were stored in the content subgraph (still served
 * at GET /content/<sha256>, where the gateway asks for a blob content does not know). New
 * results go to content (content-client.ts).
 */
export function createContentStore(db: Db) {
  return {
    async put(bytes: Buffer, contentType: string): Promise<string> {
      const sha256 = sha256Of(bytes);
      // ON CONFLICT DO NOTHING: the same bytes stored by two requests at once (Prisma's upsert
      // is a read then a write, and the second insert failed on the key: a 500).
      await db.contentBlob.createMany({ data: [{ sha256, contentType, size: bytes.length, bytes: new Uint8Array(bytes) }], skipDuplicates: true });
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
