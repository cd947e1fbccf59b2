import { z } from "zod";

/** Redis stream ids are `<ms>-<seq>`. */
const STREAM_ID = /^\d{1,16}-\d{1,16}$/;

/**
 * The event envelope, as written to the stream and to pub/sub. `data` is checked against
 * the type's own schema (events.ts) by parseEvent, not here.
 */
export const eventEnvelopeSchema = z.object({
  /** UUID: the outbox row's id, or a random one for directly published events. Consumers deduplicate on it. */
  id: z.string().min(1),
  type: z.string().min(1),
  topic: z.string().min(1),
  occurredAt: z.string().min(1),
  aggregateId: z.string().min(1),
  /** Orders one topic's events of one aggregate: each topic has one writer (families.ts). */
  version: z.number().int(),
  data: z.unknown(),
  /** W3C trace context of the request or job that wrote it, while tracing is on. */
  traceparent: z.string().nullable(),
  /** The service whose outbox relay published it; absent on directly published events. */
  producer: z.string().optional(),
  /** Where it is in its stream: on pub/sub messages and on events read back from the stream. */
  streamId: z.string().regex(STREAM_ID).optional(),
});

export type EventEnvelope = Omit<z.infer<typeof eventEnvelopeSchema>, "streamId">;
