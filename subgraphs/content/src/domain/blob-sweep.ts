import { periodicTask, type Logger } from "@startales/service-kit";
import type { Db } from "../db";
import type { StorageDriver } from "../storage";
import type { AssetService } from "./asset-service";

export type SweepResult = { unreferenced: number; unnamed: number };

/**
 * Bytes nothing needs any more, removed once they are older than `graceMs`:
 * - blobs whose rows no asset and no pack version names (a draft's file replaced or removed,
 *   an asset deleted while a draft still had its bytes, then the draft changed);
 * - bytes in storage that no row names (an upload or an import that stored its bytes and then
 *   failed: refused over quota under the lock, its process killed, its database down).
 * Each removal is under the blob's lock and checks again, as a deletion does, so an upload or
 * an import of the same bytes racing the sweep keeps them; `graceMs` must outlast the longest
 * request between storing bytes and committing their row. Replicas may sweep at once: every
 * removal is idempotent, so two only repeat each other's reads.
 */
export function createBlobSweep(deps: { db: Db; storage: StorageDriver; assets: AssetService; graceMs: number; everyMs: number; batchSize: number; logger: Logger; onRemoved?: (reason: keyof SweepResult, count: number) => void }) {
  const { db, storage, assets, batchSize, logger } = deps;

  async function unreferencedRows(cutoff: Date): Promise<number> {
    let removed = 0;
    let after = "";
    for (;;) {
      const page = await db.$queryRaw<{ sha256: string }[]>`
        SELECT b.sha256 FROM blobs b
         WHERE b.created_at < ${cutoff} AND b.sha256 > ${after}
           AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.sha256 = b.sha256)
           AND NOT EXISTS (SELECT 1 FROM pack_files p WHERE p.sha256 = b.sha256)
         ORDER BY b.sha256 LIMIT ${batchSize}`;
      for (const { sha256 } of page) if (await assets.release(sha256)) removed++;
      if (page.length < batchSize) return removed;
      after = page.at(-1)!.sha256;
    }
  }

  async function unnamedBytes(cutoff: Date): Promise<number> {
    let removed = 0;
    let batch: string[] = [];
    const flush = async () => {
      const named = new Set((await db.blob.findMany({ where: { sha256: { in: batch } }, select: { sha256: true } })).map((row) => row.sha256));
      for (const sha256 of batch) if (!named.has(sha256) && (await assets.removeUnnamed(sha256, cutoff))) removed++;
      batch = [];
    };
    for await (const { key, storedAt } of storage.list()) {
      if (storedAt >= cutoff) continue;
      batch.push(key);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length) await flush();
    return removed;
  }

  async function sweep(): Promise<SweepResult> {
    const cutoff = new Date(Date.now() - deps.graceMs);
    const result = { unreferenced: await unreferencedRows(cutoff), unnamed: await unnamedBytes(cutoff) };
    for (const reason of ["unreferenced", "unnamed"] as const) if (result[reason] > 0) deps.onRemoved?.(reason, result[reason]);
    if (result.unreferenced + result.unnamed > 0) logger.info(result, "removed bytes nothing names any more");
    return result;
  }

  const task = periodicTask(sweep, { everyMs: deps.everyMs, logger, failure: "blob sweep failed; trying again at the next one" });
  return { sweep, start: task.start, stop: task.stop };
}
