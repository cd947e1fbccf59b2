import type { Redis } from "ioredis";
import { Counter, Gauge } from "prom-client";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { isConsumerTrimmedTopic } from "./topics";

/** An unpublished row of a service's `outbox_events` table. */
export type OutboxRow = {
  id: string;
  topic: string;
  type: string;
  aggregateId: string;
  version: number;
  data: unknown;
  traceparent: string | null;
  occurredAt: Date;
};

/** The event envelope (architecture.md §5), as written to the stream and to pub/sub. */
export type EventEnvelope = {
  id: string;
  type: string;
  topic: string;
  occurredAt: string;
  aggregateId: string;
  version: number;
  data: unknown;
  traceparent: string | null;
};

/** One database transaction of the relay: claim a batch, then mark what was published. */
export type OutboxTransaction = {
  /** Up to `limit` unpublished rows, oldest first, locked `FOR UPDATE SKIP LOCKED`. */
  claim(limit: number): Promise<OutboxRow[]>;
  /** Sets `published_at` on these rows (they are locked by this transaction). */
  markPublished(ids: string[]): Promise<void>;
};

/** What a service implements over its own database (see campaign's outbox-source.ts). */
export type OutboxSource = {
  /** Runs `work` in one transaction; commits if it resolves, rolls back if it throws. */
  transaction<T>(work: (tx: OutboxTransaction) => Promise<T>): Promise<T>;
};

export type OutboxRelayOptions = {
  source: OutboxSource;
  redis: Redis;
  logger: Logger;
  metrics?: Metrics;
  batchSize?: number;
  pollMs?: number;
  /** Approximate length each `events:<topic>` stream is trimmed to (`XADD MAXLEN ~`). */
  streamMaxLen?: number;
  /** How long the "already published" marker of an event id lives (seconds). */
  dedupeTtlSeconds?: number;
};

export type OutboxRelay = {
  start(): void;
  /** Stops polling; resolves once the batch in flight (if any) has committed or rolled back. */
  stop(): Promise<void>;
  /** Publish now (e.g. right after a commit) instead of at the next poll. */
  wake(): void;
};

export const EVENT_STREAM_PREFIX = "events:";
export const OUTBOX_DEDUPE_PREFIX = "outbox:published:";
const DEFAULT_DEDUPE_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Publishes one event, idempotent on its id: only the first call for an id appends it to the
 * stream (trimmed approximately) and publishes it, with its stream id, on the channel of the
 * same name. Returns the stream id, or nil for an id already published.
 * KEYS: dedupe key, stream key. ARGV: ttl seconds, max length (0: never trimmed), envelope JSON (an object).
 */
const PUBLISH_SCRIPT = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return false end
local streamId
if ARGV[2] == '0' then
  streamId = redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[3])
else
  streamId = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'envelope', ARGV[3])
end
redis.call('PUBLISH', KEYS[2], '{"streamId":"' .. streamId .. '",' .. string.sub(ARGV[3], 2))
return streamId
`;
const COMMAND = "publishOutboxEvent";

type WithPublish = Redis & { [COMMAND](dedupeKey: string, stream: string, ttl: number, maxLen: number, json: string): Promise<string | null> };

function withPublishCommand(redis: Redis): WithPublish {
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 2, lua: PUBLISH_SCRIPT });
  return redis as WithPublish;
}

export const toEnvelope = (row: OutboxRow): EventEnvelope => ({
  id: row.id,
  type: row.type,
  topic: row.topic,
  occurredAt: row.occurredAt.toISOString(),
  aggregateId: row.aggregateId,
  version: row.version,
  data: row.data,
  traceparent: row.traceparent ?? null,
});

/**
 * Publishes one envelope to `events:<topic>` (stream and channel) unless its id was already
 * published; returns the stream id, or null for a duplicate.
 */
export function publishEnvelope(
  redis: Redis,
  envelope: EventEnvelope,
  options: { streamMaxLen: number; dedupeTtlSeconds?: number },
): Promise<string | null> {
  return withPublishCommand(redis)[COMMAND](
    `${OUTBOX_DEDUPE_PREFIX}${envelope.id}`,
    `${EVENT_STREAM_PREFIX}${envelope.topic}`,
    options.dedupeTtlSeconds ?? DEFAULT_DEDUPE_TTL_SECONDS,
    // A consumer group's stream keeps what it has not acknowledged: its consumer trims it.
    isConsumerTrimmedTopic(envelope.topic) ? 0 : options.streamMaxLen,
    JSON.stringify(envelope),
  );
}

/**
 * The transactional-outbox relay: claims unpublished rows, publishes each through the
 * idempotent script, and marks them published in the same transaction. A crash before the
 * mark leaves the rows unpublished; the next claim republishes them and the script drops the
 * duplicates, so each event reaches the stream once (delivery is at least once).
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { source, redis, logger } = options;
  const batchSize = options.batchSize ?? 100;
  const pollMs = options.pollMs ?? 200;
  const publishOptions = { streamMaxLen: options.streamMaxLen ?? 100_000, dedupeTtlSeconds: options.dedupeTtlSeconds };
  const published = options.metrics
    ? (options.metrics.registry.getSingleMetric("outbox_events_published_total") as Counter<"topic"> | undefined) ??
      new Counter({ name: "outbox_events_published_total", help: "Outbox events appended to their stream", labelNames: ["topic"], registers: [options.metrics.registry] })
    : undefined;
  const lag = options.metrics
    ? (options.metrics.registry.getSingleMetric("outbox_relay_lag_seconds") as Gauge | undefined) ??
      new Gauge({ name: "outbox_relay_lag_seconds", help: "Age of the oldest event of the last published batch", registers: [options.metrics.registry] })
    : undefined;

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let wakeRequested = false;

  /** One transaction; resolves to the number of rows it claimed. */
  const publishBatch = () =>
    source.transaction(async (tx) => {
      const rows = await tx.claim(batchSize);
      if (rows.length === 0) return 0;
      // One connection, commands in order: per topic, the stream keeps the claim order.
      const results = await Promise.all(rows.map((row) => publishEnvelope(redis, toEnvelope(row), publishOptions)));
      await tx.markPublished(rows.map((row) => row.id));
      rows.forEach((row, i) => {
        if (results[i] !== null) published?.inc({ topic: row.topic });
      });
      lag?.set((Date.now() - Math.min(...rows.map((row) => row.occurredAt.getTime()))) / 1000);
      const duplicates = results.filter((r) => r === null).length;
      if (duplicates > 0) logger.info({ duplicates }, "outbox relay skipped events already published");
      return rows.length;
    });

  const cycle = async () => {
    try {
      // A full batch means there may be more: keep going until a partial one.
      while (running && (await publishBatch()) === batchSize);
    } catch (error) {
      logger.warn({ err: error }, "outbox relay batch failed; retrying at the next poll");
    }
  };

  const schedule = (delay: number) => {
    clearTimeout(timer);
    timer = setTimeout(run, delay);
  };

  function run() {
    if (!running || inFlight) return;
    wakeRequested = false;
    inFlight = cycle().finally(() => {
      inFlight = undefined;
      if (running) schedule(wakeRequested ? 0 : pollMs);
    });
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await inFlight;
    },
    wake() {
      if (!running) return;
      if (inFlight) wakeRequested = true;
      else schedule(0);
    },
  };
}
