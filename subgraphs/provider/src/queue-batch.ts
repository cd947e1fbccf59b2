import type { JobsOptions, Queue } from "bullmq";

type Pending<T> = { data: T; opts: JobsOptions; resolve: () => void; reject: (error: unknown) => void };

/**
 * `add` for many concurrent callers as one `addBulk` per turn of the event loop: requests
 * that arrive together (a burst of mutations) cost one Redis round trip instead of one each.
 * Each caller still learns whether its own job was queued: a failed bulk fails all of its
 * callers, as their own `add` would have. BullMQ ignores a job id it already holds in a bulk
 * as in `add`, so queuing a job again stays a no-op.
 */
export function createQueueBatcher<T>(queue: Queue<T>, name: string, options: { maxBatch?: number } = {}) {
  const maxBatch = options.maxBatch ?? 500;
  let pending: Pending<T>[] = [];

  const flush = () => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    // BullMQ's own typing of a bulk's names and data is looser than Queue<T>'s add.
    (queue as unknown as Queue).addBulk(batch.map((p) => ({ name, data: p.data, opts: p.opts }))).then(
      () => batch.forEach((p) => p.resolve()),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    );
  };

  return {
    add(data: T, opts: JobsOptions): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push({ data, opts, resolve, reject });
        if (pending.length >= maxBatch) flush();
      });
    },
  };
}

export type QueueBatcher<T> = ReturnType<typeof createQueueBatcher<T>>;
