import DataLoader from "dataloader";
import type { ForwardedIdentity, Viewer } from "@startales/service-kit";
import type { Db } from "./db";
import type { ProviderJob } from "./generated/prisma/client";

/** One set per request: jobs are read in batches (no N+1). */
export function createLoaders(db: Db, viewer: Viewer, forwarded: ForwardedIdentity) {
  return {
    viewer,
    forwarded,
    jobById: new DataLoader<string, ProviderJob | null>(async (ids) => {
      const rows = new Map((await db.providerJob.findMany({ where: { id: { in: [...ids] } } })).map((row) => [row.id, row]));
      return ids.map((id) => rows.get(id) ?? null);
    }),
  };
}

export type ProviderLoaders = ReturnType<typeof createLoaders>;
