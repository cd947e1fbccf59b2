import type { Redis } from "ioredis";
import { EVENT_STREAM_PREFIX, type EventEnvelope } from "./outbox-relay";

/** An event as read back from its topic's stream: the envelope and its position in the stream. */
export type StreamEvent = EventEnvelope & { streamId: string };

/** Redis stream ids are `<ms>-<seq>`: what clients may pass as an event id. */
export const isStreamId = (value: unknown): value is string => typeof value === "string" && /^\d{1,16}-\d{1,16}$/.test(value);

/** Orders two stream ids (negative, zero, positive) without losing precision. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split("-").map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split("-").map(BigInt);
  return aMs === bMs ? Number(aSeq - bSeq) : aMs < bMs ? -1 : 1;
}

/** A stream entry as Redis returns it (XRANGE, XREADGROUP): its id and its field-value list. */
export type RawStreamEntry = [id: string, fields: string[]];
type RawEntry = RawStreamEntry;

/** The envelope an entry carries with its stream id, or null when it carries none readable. */
export function toStreamEvent([streamId, fields]: RawEntry): StreamEvent | null {
  const index = fields.indexOf("envelope");
  const json = index >= 0 ? fields[index + 1] : undefined;
  if (json === undefined) return null;
  try {
    return { ...(JSON.parse(json) as EventEnvelope), streamId };
  } catch {
    return null;
  }
}

export const streamKey = (topic: string) => `${EVENT_STREAM_PREFIX}${topic}`;

/** A reply Redis gives as a flat field-value list (XINFO STREAM, XINFO GROUPS' entries) as a record. */
export function fieldsOf(flat: readonly unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1];
  return record;
}

/** The event at `streamId` of `events:<topic>`, or null once trimmed (or never there). */
export async function readStreamEvent(redis: Redis, topic: string, streamId: string): Promise<StreamEvent | null> {
  if (!isStreamId(streamId)) return null;
  const entries = (await redis.xrange(streamKey(topic), streamId, streamId, "COUNT", 1)) as RawEntry[];
  return entries[0] ? toStreamEvent(entries[0]) : null;
}

/** Up to `count` events after `afterId` (exclusive), oldest first. */
export async function readStreamEventsAfter(redis: Redis, topic: string, afterId: string, count: number): Promise<StreamEvent[]> {
  const entries = (await redis.xrange(streamKey(topic), `(${afterId}`, "+", "COUNT", count)) as RawEntry[];
  return entries.map(toStreamEvent).filter((event): event is StreamEvent => event !== null);
}

/** The id of the oldest event the stream still keeps, or null for an empty (or missing) stream. */
export async function oldestStreamId(redis: Redis, topic: string): Promise<string | null> {
  const entries = (await redis.xrange(streamKey(topic), "-", "+", "COUNT", 1)) as RawEntry[];
  return entries[0]?.[0] ?? null;
}

/** The id of the newest event in the stream, or null for an empty (or missing) stream. */
export async function newestStreamId(redis: Redis, topic: string): Promise<string | null> {
  const entries = (await redis.xrevrange(streamKey(topic), "+", "-", "COUNT", 1)) as RawEntry[];
  return entries[0]?.[0] ?? null;
}

/*
 * A timeline is a feed made of several topics with one clock (timelineTopics in the
 * contracts): their stream ids never repeat across them and grow in publication order, so
 * merging by stream id gives the order they were published in and one id is a position in
 * all of them.
 */

/** The event at `streamId` in any of `topics`, or null once trimmed (or never there). */
export async function readTimelineEvent(redis: Redis, topics: readonly string[], streamId: string): Promise<StreamEvent | null> {
  if (topics.length === 1) return readStreamEvent(redis, topics[0]!, streamId);
  if (!isStreamId(streamId)) return null;
  const replies = await Promise.all(topics.map((topic) => redis.xrange(streamKey(topic), streamId, streamId, "COUNT", 1) as Promise<RawEntry[]>));
  const entry = replies.find((entries) => entries.length > 0)?.[0];
  return entry ? toStreamEvent(entry) : null;
}

/**
 * Up to `count` events after `afterId` (exclusive) across `topics`, oldest first. When a
 * topic had more than `count`, the answer stops at the last of them, so that no event of
 * another topic in between is passed over: call again from the last id returned.
 */
export async function readTimelineEventsAfter(redis: Redis, topics: readonly string[], afterId: string, count: number): Promise<StreamEvent[]> {
  if (topics.length === 1) return readStreamEventsAfter(redis, topics[0]!, afterId, count);
  const batches = await Promise.all(topics.map((topic) => readStreamEventsAfter(redis, topic, afterId, count)));
  const full = batches.filter((batch) => batch.length >= count).map((batch) => batch.at(-1)!.streamId);
  const limit = full.sort(compareStreamIds)[0];
  return batches
    .flat()
    .filter((event) => limit === undefined || compareStreamIds(event.streamId, limit) <= 0)
    .sort((a, b) => compareStreamIds(a.streamId, b.streamId))
    .slice(0, count);
}

/** The newest event id across `topics`, or null when they are all empty. */
export async function newestTimelineId(redis: Redis, topics: readonly string[]): Promise<string | null> {
  const ids = (await Promise.all(topics.map((topic) => newestStreamId(redis, topic)))).filter((id): id is string => id !== null);
  return ids.sort(compareStreamIds).at(-1) ?? null;
}

/**
 * True when some event at or after `afterId` may no longer be kept in one of `topics`: a
 * reader resuming from there could miss events (or `afterId` itself is gone). Deleted
 * entries are told by `max-deleted-entry-id`; trimmed ones (which Redis 7.0 does not record
 * there) by a stream that lost entries and whose oldest kept one is newer than `afterId`.
 * In doubt it says true: the client refetches instead of missing events.
 */
export async function timelineTrimmedAfter(redis: Redis, topics: readonly string[], afterId: string): Promise<boolean> {
  for (const topic of topics) {
    const key = streamKey(topic);
    if ((await redis.exists(key)) === 0) continue;
    const info = fieldsOf((await redis.call("XINFO", "STREAM", key)) as unknown[]);
    const deleted = info["max-deleted-entry-id"];
    if (typeof deleted === "string" && deleted !== "0-0" && compareStreamIds(deleted, afterId) >= 0) return true;
    const added = Number(info["entries-added"]);
    const removedSome = !Number.isFinite(added) || added > Number(info.length);
    if (!removedSome) continue;
    const firstEntry = info["first-entry"];
    const first = Array.isArray(firstEntry) ? String(firstEntry[0]) : null;
    const lastGenerated = String(info["last-generated-id"]);
    if (first ? compareStreamIds(first, afterId) > 0 : compareStreamIds(lastGenerated, afterId) > 0) return true;
  }
  return false;
}
