import { createHash } from "node:crypto";
import type { EventRow } from "./event-rows";

/** What an erasure notes of a user: the SHA-256 of their id, which names none of the rows it moved. */
export const userHash = (userId: string) => createHash("sha256").update(userId.toLowerCase()).digest("hex");

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Where events name a user: who acted, whose account it is, a member or author in their data. */
const NAMING_FIELDS = ["userId", "authorId", "playerId", "gameMasterId", "deletedById"] as const;

/** The users a row names, as forgetUser would find them. */
function namedUsers(row: EventRow): string[] {
  const data = (row.data && typeof row.data === "object" ? row.data : {}) as Record<string, unknown>;
  const named = [row.actorId, row.aggregateId, ...NAMING_FIELDS.map((field) => data[field])];
  return named.filter((value): value is string => typeof value === "string" && UUID.test(value)).map((id) => id.toLowerCase());
}

/**
 * The rows with every forgotten user taken out: no actor, and their id replaced wherever the
 * row held it. An event of theirs still on its way when they were forgotten (their campaigns'
 * PLAYER_LEFT after an account deletion, a session that ended with it) is counted where it
 * counts for everyone (events per type) and names nobody, so nothing analytics holds
 * names them again, and they are not active again under their old id.
 */
export async function withoutForgottenUsers(rows: EventRow[], forgottenAmong: (userIds: readonly string[]) => Promise<Set<string>>): Promise<EventRow[]> {
  const forgotten = await forgottenAmong([...new Set(rows.flatMap(namedUsers))]);
  if (forgotten.size === 0) return rows;
  return rows.map((row) => {
    const names = namedUsers(row).filter((id) => forgotten.has(id));
    if (names.length === 0) return row;
    let text = JSON.stringify(row.data ?? null);
    for (const id of names) text = text.split(id).join(FORGOTTEN);
    return {
      ...row,
      actorId: row.actorId && forgotten.has(row.actorId) ? null : row.actorId,
      aggregateId: forgotten.has(row.aggregateId.toLowerCase()) ? FORGOTTEN : row.aggregateId,
      data: JSON.parse(text) as unknown,
    };
  });
}

/** What stands where a forgotten user's id stood. */
export const FORGOTTEN = "forgotten";
