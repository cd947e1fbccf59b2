import type { EventEnvelope } from "@startales/contracts";
import type { Redis } from "ioredis";
import { Gauge } from "prom-client";
import type { Logger } from "./logger";
import { sharedCounter, type Metrics } from "./metrics";
import { isConsumerTrimmedTopic, timelineTopics, topicFamily } from "./topics";

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

/** The event envelope, as written to the stream and to pub/sub: the contract is @startales/contracts. */
export type { EventEnvelope } from "@startales/contracts";

/**
 * A row the relay published and where its event is: the stream id, or null when Redis could
 * not say (a duplicate whose first publication predates recorded stream ids).
 */
export type PublishedMark = { id: string; streamId: string | null };

/** One database transaction of the relay: claim a batch, then mark what was published. */
export type OutboxTransaction = {
  /** Up to `limit` unpublished rows, oldest first, locked `FOR UPDATE SKIP LOCKED`. */
  claim(limit: number): Promise<OutboxRow[]>;
  /** Sets `published_at` and `stream_id` on these rows (they are locked by this transaction). */
  markPublished(rows: PublishedMark[]): Promise<void>;
};

/**
 * Keeps Redis's copy of the published history whole (outbox-rebuild.ts): the relay asks it
 * before each cycle and publishes only while the sentinel it names exists.
 */
export type OutboxHistoryGuard = {
  /** Exists while Redis holds this producer's history; the publish script refuses without it. */
  sentinelKey: string;
  /**
   * True when the relay may publish (the history is there, rebuilt first if it was lost);
   * false while another replica rebuilds it, or when `going()` turned false during a rebuild.
   */
  ready(going?: () => boolean): Promise<boolean>;
  /** The last event the relay published: if Redis comes back without it, it lost recent writes. */
  published(eventId: string): void;
};

/** Work the relay does after its cycles (outbox-retention.ts: deleting old published rows). */
export type OutboxHousekeeping = { sweepIfDue(): Promise<void> };

/** What a service implements over its own database (pgOutboxSource does it for every subgraph). */
export type OutboxSource = {
  /** Runs `work` in one transaction; commits if it resolves, rolls back if it throws. */
  transaction<T>(work: (tx: OutboxTransaction) => Promise<T>): Promise<T>;
};

export type OutboxRelayOptions = {
  source: OutboxSource;
  /** Recorded in each envelope as `producer`: the service whose outbox this is. */
  producer?: string;
  redis: Redis;
  logger: Logger;
  metrics?: Metrics;
  batchSize?: number;
  pollMs?: number;
  /** Approximate length each `events:<topic>` stream is trimmed to (`XADD MAXLEN ~`). */
  streamMaxLen?: number;
  /** How long the "already published" marker of an event id lives (seconds). */
  dedupeTtlSeconds?: number;
  /** The producer's firehose topic (`firehose:<producer>`): each new event is copied to its stream while analytics reads it. */
  firehose?: string;
  /** Without it, the relay cannot tell a Redis that lost its data and publishes into it as is. */
  rebuild?: OutboxHistoryGuard;
  retention?: OutboxHousekeeping;
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
export const DEFAULT_DEDUPE_TTL_SECONDS = 7 * 24 * 3600;
/** The error the publish script answers when the sentinel is missing (Redis lost the history). */
export const HISTORY_LOST_ERROR = "OUTBOX_HISTORY_LOST";

export const outboxDedupeKey = (eventId: string) => `${OUTBOX_DEDUPE_PREFIX}${eventId}`;

/**
 * Publishes one event, idempotent on its id: only the first call for an id appends it to the
 * stream (trimmed approximately) and publishes it, with its stream id, on the channel of the
 * same name. The dedupe key keeps the stream id, so a republication learns where the event
 * went (a key written before it did holds '1'). Returns {1, stream id} for a new event,
 * {0, the dedupe key's value} for one already published.
 * A topic that is part of a timeline (timelineTopics) gets an id newer than the last one of
 * every stream of the timeline, not only its own: the timeline's topics share one clock, so
 * a reader merges them by id and one id is a position in all of them.
 * A new event is also appended to the producer's firehose stream when one is passed and it
 * exists: analytics creates it with its consumer group, so a cluster without analytics writes
 * nothing there, and once it reads, every event is copied in the same script as its
 * publication (never one without the other). Only that group trims it.
 * KEYS: dedupe key, stream key[, sentinel: without it, refuses, since Redis lost the history
 * and a rebuild must put it back before anything newer][, firehose stream], then the
 * timeline's other streams.
 * ARGV: ttl seconds, max length (0: never trimmed), envelope JSON (an object), 1 when a
 * sentinel is passed, else 0, 1 when a firehose stream is passed, else 0.
 */
const PUBLISH_SCRIPT = `
local first_sibling = 3
if ARGV[4] == '1' then
  if redis.call('EXISTS', KEYS[3]) == 0 then return redis.error_reply('${HISTORY_LOST_ERROR}') end
  first_sibling = 4
end
local firehose = nil
if ARGV[5] == '1' then
  firehose = KEYS[first_sibling]
  first_sibling = first_sibling + 1
end
local earlier = redis.call('GET', KEYS[1])
if earlier then return {0, earlier} end
local id = '*'
if #KEYS >= first_sibling then
  local now = redis.call('TIME')
  local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local seq = 0
  local streams = {KEYS[2]}
  for i = first_sibling, #KEYS do streams[#streams + 1] = KEYS[i] end
  for _, key in ipairs(streams) do
    if redis.call('EXISTS', key) == 1 then
      local info = redis.call('XINFO', 'STREAM', key)
      for j = 1, #info, 2 do
        if info[j] == 'last-generated-id' then
          local lms, lseq = string.match(info[j + 1], '^(%d+)-(%d+)$')
          lms, lseq = tonumber(lms), tonumber(lseq)
          if lms > ms or (lms == ms and lseq >= seq) then ms, seq = lms, lseq + 1 end
        end
      end
    end
  end
  id = string.format('%.0f-%.0f', ms, seq)
end
local streamId
if ARGV[2] == '0' then
  streamId = redis.call('XADD', KEYS[2], id, 'envelope', ARGV[3])
else
  streamId = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], id, 'envelope', ARGV[3])
end
redis.call('SET', KEYS[1], streamId, 'EX', ARGV[1])
redis.call('PUBLISH', KEYS[2], '{"streamId":"' .. streamId .. '",' .. string.sub(ARGV[3], 2))
if firehose and redis.call('EXISTS', firehose) == 1 then redis.call('XADD', firehose, '*', 'envelope', ARGV[3]) end
return {1, streamId}
`;
const COMMAND = "publishOutboxEventOnce";

type PublishReply = [fresh: number, streamId: string];
type WithPublish = Redis & { [COMMAND](numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<PublishReply> };

function withPublishCommand(redis: Redis): WithPublish {
  // No fixed key count: the sentinel is passed only by relays that guard the history.
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { lua: PUBLISH_SCRIPT });
  return redis as WithPublish;
}

// Not event-stream.ts's isStreamId: that module imports this one.
const STREAM_ID = /^\d{1,16}-\d{1,16}$/;

/** Where a publication left the event: a new entry, or one already there (null: where is unknown). */
export type PublishOutcome = { duplicate: boolean; streamId: string | null };

export const toEnvelope = (row: OutboxRow, producer?: string): EventEnvelope => ({
  id: row.id,
  type: row.type,
  topic: row.topic,
  occurredAt: row.occurredAt.toISOString(),
  aggregateId: row.aggregateId,
  version: row.version,
  data: row.data,
  traceparent: row.traceparent ?? null,
  ...(producer ? { producer } : {}),
});

/** The length `events:<topic>` is trimmed to on append; 0: never (a consumer group's stream keeps what it has not acknowledged, and its consumer trims it). */
export const streamMaxLenFor = (topic: string, streamMaxLen: number) => (isConsumerTrimmedTopic(topic) ? 0 : streamMaxLen);

/** How one event is published: its stream's trimming, the dedupe key's life, the history's sentinel and the producer's firehose topic. */
export type PublishOptions = { streamMaxLen: number; dedupeTtlSeconds?: number; sentinelKey?: string; firehose?: string };

function sendPublish(redis: Redis, envelope: EventEnvelope, options: PublishOptions) {
  const [, ...siblings] = timelineTopics(envelope.topic);
  const keys = [
    outboxDedupeKey(envelope.id),
    `${EVENT_STREAM_PREFIX}${envelope.topic}`,
    ...(options.sentinelKey ? [options.sentinelKey] : []),
    ...(options.firehose ? [`${EVENT_STREAM_PREFIX}${options.firehose}`] : []),
    ...siblings.map((topic) => `${EVENT_STREAM_PREFIX}${topic}`),
  ];
  return withPublishCommand(redis)[COMMAND](
    keys.length,
    ...keys,
    options.dedupeTtlSeconds ?? DEFAULT_DEDUPE_TTL_SECONDS,
    streamMaxLenFor(envelope.topic, options.streamMaxLen),
    JSON.stringify(envelope),
    options.sentinelKey ? 1 : 0,
    options.firehose ? 1 : 0,
  );
}

/**
 * Publishes one envelope to `events:<topic>` (stream and channel) unless its id was already
 * published; says which, and where the event is. With `sentinelKey`, rejects with
 * HISTORY_LOST_ERROR instead of publishing when that key is missing.
 */
export async function publishOutboxEnvelope(redis: Redis, envelope: EventEnvelope, options: PublishOptions): Promise<PublishOutcome> {
  const [fresh, streamId] = await sendPublish(redis, envelope, options);
  return { duplicate: fresh === 0, streamId: STREAM_ID.test(streamId) ? streamId : null };
}

/**
 * Publishes one envelope to `events:<topic>` (stream and channel) unless its id was already
 * published; returns the stream id, or null for a duplicate. Also queues on a pipeline
 * (resolving to null there: the pipeline's exec has the replies).
 */
export function publishEnvelope(redis: Redis, envelope: EventEnvelope, options: Omit<PublishOptions, "sentinelKey">): Promise<string | null> {
  return Promise.resolve(sendPublish(redis, envelope, options)).then((reply) => (Array.isArray(reply) && reply[0] === 1 ? reply[1] : null));
}

// Redis answers a script's error reply as "ERR <reply>".
const historyLost = (error: unknown) => error instanceof Error && error.message.includes(HISTORY_LOST_ERROR);

/**
 * The transactional-outbox relay: claims unpublished rows, publishes each through the
 * idempotent script, and marks them published (with their stream ids) in the same
 * transaction. A crash before the mark leaves the rows unpublished; the next claim
 * republishes them and the script drops the duplicates, so each event reaches the stream
 * once (delivery is at least once). With `rebuild`, nothing is published while Redis lacks
 * the history (see outbox-rebuild.ts): new events always come after the restored ones.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { source, redis, logger, rebuild, retention } = options;
  const batchSize = options.batchSize ?? 100;
  const pollMs = options.pollMs ?? 200;
  const publishOptions = { streamMaxLen: options.streamMaxLen ?? 100_000, dedupeTtlSeconds: options.dedupeTtlSeconds, sentinelKey: rebuild?.sentinelKey, firehose: options.firehose };
  const published = options.metrics
    ? sharedCounter(options.metrics, { name: "outbox_events_published_total", help: "Outbox events appended to their stream, by topic family", labelNames: ["topic"] })
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
      const results = await Promise.all(rows.map((row) => publishOutboxEnvelope(redis, toEnvelope(row, options.producer), publishOptions)));
      await tx.markPublished(rows.map((row, i) => ({ id: row.id, streamId: results[i]!.streamId })));
      rebuild?.published(rows.at(-1)!.id);
      rows.forEach((row, i) => {
        if (!results[i]!.duplicate) published?.inc({ topic: topicFamily(row.topic) });
      });
      lag?.set((Date.now() - Math.min(...rows.map((row) => row.occurredAt.getTime()))) / 1000);
      const duplicates = results.filter((r) => r.duplicate).length;
      if (duplicates > 0) logger.info({ duplicates }, "outbox relay skipped events already published");
      return rows.length;
    });

  const cycle = async () => {
    // Not connected: claim nothing. Commands wait for Redis to come back (the offline queue),
    // so a batch claimed now would hold its rows, and the advisory lock every replica's relay
    // takes turns on, until then: one replica without Redis would stop them all.
    if (redis.status !== "ready") return;
    try {
      if (rebuild && !(await rebuild.ready(() => running))) return;
      // A full batch means there may be more: keep going until a partial one.
      while (running && (await publishBatch()) === batchSize);
    } catch (error) {
      if (historyLost(error)) {
        // Redis lost its data since ready(): the batch rolled back; rebuild now, not at the next poll.
        logger.info("Redis lost the published history during a batch; rebuilding before publishing again");
        wakeRequested = true;
        return;
      }
      logger.warn({ err: error }, "outbox relay batch failed; retrying at the next poll");
      return;
    }
    try {
      await retention?.sweepIfDue();
    } catch (error) {
      logger.warn({ err: error }, "deleting old published outbox rows failed; retrying later");
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
