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
