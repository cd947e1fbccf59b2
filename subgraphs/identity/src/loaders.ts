import DataLoader from "dataloader";
import { isId } from "@startales/service-kit";
import type { Db } from "./db";
import type { User } from "./generated/prisma/client";

/** One set per request: every entity read goes through a batching loader (no N+1). */
export function createLoaders(db: Db) {
  return {
    userById: new DataLoader<string, User | null>(async (ids) => {
      // Entity representations come from other subgraphs: an id that is not a UUID names no
      // user, and must not make PostgreSQL fail the whole batch.
      const valid = ids.filter(isId);
      const users = valid.length ? await db.user.findMany({ where: { id: { in: valid } } }) : [];
      const byId = new Map(users.map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}

export type IdentityLoaders = ReturnType<typeof createLoaders>;
