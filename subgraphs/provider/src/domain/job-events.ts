import { randomUUID } from "node:crypto";
import { Topics, eventData, publishEnvelope, readStreamEvent, streamKey, type EventData, type Redis } from "@startales/service-kit";

export const JOB_QUEUED = "JOB_QUEUED" as const;
export const TEXT_CHUNK = "TEXT_CHUNK" as const;

export type TextChunkData = EventData<typeof TEXT_CHUNK>;

/** A chunk read back from `events:job:<jobId>` (what textStream delivers). */
export type TextChunkModel = TextChunkData & { id: string };

/**
 * A streamed job's events go straight to its Redis stream with publishEnvelope (no outbox:
 * chunks are ephemeral, and the job row records the final text). The first event,
 * JOB_QUEUED, is written before the job is queued, so a subscriber can always pass its id as
 * `after` and miss nothing. The stream expires `ttlSeconds` after the last chunk.
 */
export function createJobEvents(redis: Redis, options: { streamMaxLen: number; ttlSeconds: number }) {
  let version = 0;
  const publish = <T extends typeof JOB_QUEUED | typeof TEXT_CHUNK>(jobId: string, type: T, data: EventData<T>) => {
    const topic = Topics.job(jobId);
    return publishEnvelope(
      redis,
      { id: randomUUID(), type, topic, occurredAt: new Date().toISOString(), aggregateId: jobId, version: ++version, data: eventData(topic, type, data), traceparent: null },
      { streamMaxLen: options.streamMaxLen, dedupeTtlSeconds: options.ttlSeconds },
    );
  };
  return {
    async queued(jobId: string): Promise<string | null> {
      const id = await publish(jobId, JOB_QUEUED, { jobId });
      await redis.expire(streamKey(Topics.job(jobId)), options.ttlSeconds);
      return id;
    },
    async chunk(data: TextChunkData): Promise<void> {
      await publish(data.jobId, TEXT_CHUNK, data);
      if (data.done) await redis.expire(streamKey(Topics.job(data.jobId)), options.ttlSeconds);
    },
    async read(jobId: string, id: string): Promise<TextChunkModel | null> {
      const event = await readStreamEvent(redis, Topics.job(jobId), id);
      if (!event || event.type !== TEXT_CHUNK) return null;
      return { ...(event.data as TextChunkData), id: event.streamId };
    },
  };
}

export type JobEvents = ReturnType<typeof createJobEvents>;
