import type { EventData } from "@startales/service-kit";
import type { EventRow } from "./event-rows";

/** The upper bounds (ms) of the session-length histogram: 1, 5, 15, 30 minutes, 1, 2, 4, 8 hours; one more bucket for longer. */
export const SESSION_BUCKETS_MS = [60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000] as const;

/** One ended session, as the session rollups take it (on the UTC day it ended). */
export type SessionRow = { eventId: string; day: string; userId: string; durationMs: number; buckets: number[] };

const bucketOf = (ms: number) => {
  const index = SESSION_BUCKETS_MS.findIndex((bound) => ms <= bound);
  return index < 0 ? SESSION_BUCKETS_MS.length : index;
};

/** Realtime's SESSION_ENDED events of a batch, as session rows, each tagged with its event. */
export function sessionRows(rows: EventRow[]): SessionRow[] {
  const sessions: SessionRow[] = [];
  for (const row of rows) {
    if (row.type !== "SESSION_ENDED" || row.family !== "sessions") continue;
    const session = row.data as EventData<"SESSION_ENDED">;
    const buckets = new Array<number>(SESSION_BUCKETS_MS.length + 1).fill(0);
    buckets[bucketOf(session.durationMs)] = 1;
    sessions.push({ eventId: row.id, day: session.endedAt.slice(0, 10), userId: session.userId, durationMs: session.durationMs, buckets });
  }
  return sessions;
}
