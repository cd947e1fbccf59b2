import { createHash } from "node:crypto";
import { uuidOrNull, type EventRow } from "./event-rows";

/** What an erasure notes of a user: the SHA-256 of their id, which names none of the rows it moved. */
export const userHash = (userId: string) => createHash("sha256").update(userId.toLowerCase()).digest("hex");

const UUIDS = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** The users rows name (deduplicated), as forgetUser would find them. */
export const namedUsers = (rows: EventRow[]): string[] => [...new Set(rows.flatMap(namedBy))];

/**
 * The ids a row holds: who acted, its aggregate, and every id anywhere in its data (a
 * member, an author, a recipient, a notification's parameters), as forgetUser's match on
 * the payload's text. Campaigns' and messages' ids among them are simply never forgotten.
 */
function namedBy(row: EventRow): string[] {
  const ids = [uuidOrNull(row.actorId), uuidOrNull(row.aggregateId)].filter((id): id is string => id !== null);
  return [...ids, ...(JSON.stringify(row.data ?? null).match(UUIDS) ?? []).map((id) => id.toLowerCase())];
}

/**
 * The rows with every forgotten user taken out: no actor, and their id replaced wherever the
 * row held it. An event of theirs still on its way when they were forgotten (their campaigns'
 * PLAYER_LEFT after an account deletion, a session that ended with it) is counted where it
 * counts for everyone (events per type) and names nobody, so nothing analytics holds
 * names them again, and they are not active again under their old id.
 */
export async function withoutForgottenUsers(rows: EventRow[], forgottenAmong: (userIds: readonly string[]) => Promise<Set<string>>): Promise<EventRow[]> {
  const forgotten = await forgottenAmong(namedUsers(rows));
  if (forgotten.size === 0) return rows;
  return rows.map((row) => {
    const names = namedBy(row).filter((id) => forgotten.has(id));
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
