import type { Logger } from "./logger";
import type { OutboxHousekeeping } from "./outbox-relay";

/** Deleting a service's old published rows (prismaOutboxHistory in prisma-outbox-source.ts). */
export type OutboxPruner = {
  /** Deletes up to `limit` rows published before `before` (never an unpublished one); resolves to how many. */
  deletePublishedBefore(before: Date, limit: number): Promise<number>;
};

export type OutboxRetention = OutboxHousekeeping & {
  /** Deletes one batch now; resolves to how many rows it deleted. */
  sweep(): Promise<number>;
};

/**
 * Published rows are kept `retentionMs` (long enough to rebuild the streams after Redis
 * loses its data, see outbox-rebuild.ts), then deleted: without it the table only grows.
 * The relay calls sweepIfDue after each cycle: one bounded batch every `intervalMs`, or at
 * every cycle while a full batch says there is a backlog (a first run on a table that grew
 * for months), so no sweep holds the relay or the table for long.
 */
export function createOutboxRetention(options: {
  history: OutboxPruner;
  retentionMs: number;
  logger: Logger;
  intervalMs?: number;
  batchSize?: number;
}): OutboxRetention {
  const { history, retentionMs, logger } = options;
  const intervalMs = options.intervalMs ?? 60_000;
  const batchSize = options.batchSize ?? 1000;
  let nextAt = 0;

  async function sweep(): Promise<number> {
    const deleted = await history.deletePublishedBefore(new Date(Date.now() - retentionMs), batchSize);
    if (deleted > 0) logger.debug({ deleted }, "deleted published outbox rows past their retention");
    return deleted;
  }

  return {
    sweep,
    async sweepIfDue() {
      if (Date.now() < nextAt) return;
      // Set first: a sweep that fails waits for the interval too instead of retrying every poll.
      nextAt = Date.now() + intervalMs;
      if ((await sweep()) === batchSize) nextAt = 0;
    },
  };
}
