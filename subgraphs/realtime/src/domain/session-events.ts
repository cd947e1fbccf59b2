import { Topics, eventData } from "@startales/service-kit";
import type { Db } from "../db";
import type { EndedSession } from "./presence-service";

/**
 * Records an ended session in realtime's outbox (SESSION_ENDED on `sessions:realtime`,
 * checked against its contract), for its relay to publish to analytics' firehose. Presence
 * itself lives in Redis; only the sessions analytics counts go through the database.
 */
export async function recordSessionEnded(db: Db, session: EndedSession): Promise<void> {
  const data = eventData(Topics.sessions, "SESSION_ENDED", {
    campaignId: session.campaignId,
    userId: session.userId,
    startedAt: new Date(session.startedAt).toISOString(),
    endedAt: new Date(session.endedAt).toISOString(),
    durationMs: Math.max(0, Math.round(session.endedAt - session.startedAt)),
  });
  await db.outboxEvent.create({ data: { topic: Topics.sessions, type: "SESSION_ENDED", aggregateId: session.userId, version: session.version, data } });
}
