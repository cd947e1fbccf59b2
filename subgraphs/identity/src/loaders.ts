import DataLoader from "dataloader";
import { rowsById } from "@startales/service-kit";
import type { Db } from "./db";
import type { User } from "./generated/prisma/client";

/** One set per request: every entity read goes through a batching loader (no N+1). */
export function createLoaders(db: Db) {
  return {
    userById: new DataLoader<string, User | null>((ids) =>
      // One raw statement: every other subgraph's users (authors, game masters, leaderboard
      // players) are fetched here, and Prisma compiles a model query on every call (its
      // WebAssembly query compiler): with its client, about 40 % of identity's CPU time in
      // bench:read-path.
      rowsById(
        ids,
        (valid) => db.$queryRaw<User[]>`
          SELECT id::text AS id, email, display_name AS "displayName", password_hash AS "passwordHash",
                 roles::text[] AS roles, created_at AS "createdAt", updated_at AS "updatedAt",
                 email_verified_at AS "emailVerifiedAt", email_version AS "emailVersion", locale
          FROM users WHERE id = ANY(${valid}::uuid[])`,
      ),
    ),
  };
}

export type IdentityLoaders = ReturnType<typeof createLoaders>;
