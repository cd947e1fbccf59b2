import { EVENT_STREAM_PREFIX, Topics, isId, parseEvent, type Logger, type Redis } from "@startales/service-kit";
import type { Queue } from "bullmq";
import { LIFECYCLE_EVENT_TYPES } from "../domain/lifecycle";
import type { InboxEvent } from "../domain/lifecycle-inbox";
import { lifecycleJobId, type LifecycleJobData } from "./queues";

const CAMPAIGN_STREAMS = `${EVENT_STREAM_PREFIX}${Topics.campaign("*")}`;
const campaignIdOf = (key: string) => key.slice(`${EVENT_STREAM_PREFIX}${Topics.campaign("")}`.length);

/**
 * Turns campaign lifecycle events (CAMPAIGN_STARTED, _PAUSED, _RESUMED, _ENDED, PLAYER_JOINED,
 * _LEFT: campaign's topic only; simulation's own events are on `world:<id>`) into lifecycle
 * jobs, read through their contracts, at least once and without loss:
 * - live: a pattern subscription to `events:campaign:*` (pub/sub, what the outbox relay
 *   announces), so a start is acted on within milliseconds;
 * - sweep: every `sweepMs` (and at start), each campaign stream is read from a cursor kept
 *   in Redis, so events announced while no worker listened are still seen.
 * Both paths enqueue a job whose id is derived from the event id, so BullMQ keeps one job
 * per event however many replicas saw it; the job itself is idempotent (reconcileCampaign).
 * Each event is recorded (`record`, the lifecycle inbox in PostgreSQL) before its job is
 * queued: the job is only in Redis, and the reconciler queues again what Redis lost.
 */
export function createLifecycleListener(deps: {
  redis: Redis;
  queue: Queue<LifecycleJobData>;
  logger: Logger;
  sweepMs: number;
  cursorKey: string;
  record: (event: InboxEvent) => Promise<void>;
}) {
  const { redis, queue, logger } = deps;
  let subscriber: Redis | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> | undefined;
  let running = false;

  const enqueue = async (campaignId: string, value: unknown): Promise<void> => {
    // A stream under the pattern that names no campaign is not ours (and the inbox could not key it).
    if (!isId(campaignId)) return;
    // Only the events it acts on are read through their contracts; the rest are not its to judge.
    const type = (value as { type?: unknown } | null)?.type;
    if (typeof type !== "string" || !LIFECYCLE_EVENT_TYPES.has(type)) return;
    const parsed = parseEvent(value);
    if (!parsed.ok) {
      // A producer's bug, not something a retry mends: said loudly, and not acted on.
      logger.error({ campaignId, error: parsed.error }, "a campaign event breaks its contract; not acted on");
      return;
    }
    const envelope = parsed.event;
    const event = { campaignId, eventId: envelope.id, type: envelope.type };
    await deps.record(event);
    await queue.add("reconcile", envelope.traceparent ? { ...event, traceparent: envelope.traceparent } : event, { jobId: lifecycleJobId(envelope.id) });
  };

  async function sweepStream(key: string): Promise<void> {
    const campaignId = campaignIdOf(key);
    let cursor = (await redis.hget(deps.cursorKey, campaignId)) ?? "-";
    for (;;) {
      const start = cursor === "-" ? "-" : `(${cursor}`;
      const entries = (await redis.xrange(key, start, "+", "COUNT", 500)) as [string, string[]][];
      if (entries.length === 0) break;
      for (const [, fields] of entries) {
        const json = fields[fields.indexOf("envelope") + 1];
        let envelope: unknown;
        try {
          envelope = JSON.parse(json ?? "null");
        } catch (error) {
          logger.warn({ err: error, key }, "skipped an unreadable campaign event");
          continue;
        }
        // A failure to record or queue ends the sweep before the cursor moves past the event:
        // the next sweep reads it again, instead of it being skipped for good.
        if (envelope) await enqueue(campaignId, envelope);
      }
      cursor = entries[entries.length - 1]![0];
      await redis.hset(deps.cursorKey, campaignId, cursor);
      if (entries.length < 500) break;
    }
  }

  async function sweep(): Promise<void> {
    let scanCursor = "0";
    do {
      const [next, keys] = await redis.scan(scanCursor, "MATCH", CAMPAIGN_STREAMS, "COUNT", 500, "TYPE", "stream");
      scanCursor = next;
      for (const key of keys) {
        // One stream that cannot be swept now (its cursor stays) must not hold up the others.
        await sweepStream(key).catch((error) => logger.warn({ err: error, key }, "could not sweep a campaign stream; retrying at the next sweep"));
      }
    } while (scanCursor !== "0" && running);
  }

  const runSweep = () => {
    if (sweeping || !running) return;
    sweeping = sweep()
      .catch((error) => logger.warn({ err: error }, "lifecycle sweep failed; retrying at the next one"))
      .finally(() => {
        sweeping = undefined;
        if (running) timer = setTimeout(runSweep, deps.sweepMs);
      });
  };

  return {
    async start(): Promise<void> {
      running = true;
      subscriber = redis.duplicate();
      subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => {
        let envelope: unknown;
        try {
          envelope = JSON.parse(message);
        } catch {
          return;
        }
        enqueue(campaignIdOf(channel), envelope).catch((error) => logger.warn({ err: error }, "could not enqueue a lifecycle job; the sweep will"));
      });
      await subscriber.psubscribe(CAMPAIGN_STREAMS);
      runSweep();
    },
    /** One sweep now (tests). */
    sweepNow: () => sweep(),
    async stop(): Promise<void> {
      running = false;
      clearTimeout(timer);
      await sweeping;
      subscriber?.disconnect();
    },
  };
}
