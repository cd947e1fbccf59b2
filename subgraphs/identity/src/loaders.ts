import DataLoader from "dataloader";
import type { Db } from "./db";
import type { User } from "./generated/prisma/client";

/** One set per request: every entity read goes through a batching loader (no N+1). */
export function createLoaders(db: Db) {
  return {
    userById: new DataLoader<string, User | null>(async (ids) => {
      const users = await db.user.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(users.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

export type IdentityLoaders = ReturnType<typeof createLoaders>;
