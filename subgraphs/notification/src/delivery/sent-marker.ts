import { createGroupCommit } from "@startales/service-kit";
import type { Db } from "../db";
import { markSent } from "./delivery-store";

type Sent = { deliveryId: string; messageId: string };

/**
 * Marks pushes SENT for every job of the process together (service-kit's group commit):
 * during a campaign's fan-out PostgreSQL spent most of its time in the WAL flushes of
 * one-slice UPDATEs (pg_stat_activity: IO:WALSync); fewer, larger statements flush less
 * often. Each caller still learns which of its own deliveries were marked.
 */
export function createSentMarker(db: Db) {
  const commit = createGroupCommit(async (calls: Sent[][]) => {
    const marked = await markSent(db, calls.flat());
    return calls.map((sent) => new Set(sent.map((s) => s.deliveryId).filter((id) => marked.has(id))));
  });
  return {
    /** Resolves to the ids of `sent` that were still PENDING and are SENT now. */
    mark(sent: Sent[]): Promise<Set<string>> {
      return sent.length === 0 ? Promise.resolve(new Set()) : commit(sent);
    },
  };
}

export type SentMarker = ReturnType<typeof createSentMarker>;
