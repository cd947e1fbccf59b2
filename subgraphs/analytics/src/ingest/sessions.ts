import type { EventData } from "@startales/service-kit";
import { histogramOf } from "../domain/histogram";
import type { EventRow } from "./event-rows";

/** The upper bounds (ms) of the session-length histogram: 1, 5, 15, 30 minutes, 1, 2, 4, 8 hours; one more bucket for longer. */
export const SESSION_BUCKETS_MS = [60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000] as const;

/** One ended session, as the session rollups take it (on the UTC day it ended). */
export type SessionRow = { eventId: string; day: string; userId: string; durationMs: number; buckets: number[] };

/** Realtime's SESSION_ENDED events of a batch, as session rows, each tagged with its event. */
export function sessionRows(rows: EventRow[]): SessionRow[] {
  const sessions: SessionRow[] = [];
  for (const row of rows) {
    if (row.type !== "SESSION_ENDED" || row.family !== "sessions") continue;
    const session = row.data as EventData<"SESSION_ENDED">;
    const buckets = histogramOf(SESSION_BUCKETS_MS, session.durationMs);
    sessions.push({ eventId: row.id, day: session.endedAt.slice(0, 10), userId: session.userId, durationMs: session.durationMs, buckets });
  }
  return sessions;
}
