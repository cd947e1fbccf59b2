import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { Queue } from "bullmq";
import type { Express } from "express";
import type { Redis } from "@startales/service-kit";
import { queueKey, type QueueLocation } from "./queue-discovery";

type OpenQueue = { location: QueueLocation; queue: Queue };

export type QueueBoard = {
  /** The board's request handler: one that can change queues, or one that only shows them (no buttons, no writes). */
  handler(canWrite: boolean): Express;
  /** Shows exactly these queues: queues not seen before are opened, those gone are closed. */
  show(queues: QueueLocation[]): Promise<void>;
  close(): Promise<void>;
};

/**
 * bull-board over the BullMQ queues found in Redis. Two boards share the Queue objects: one
 * for admins who may retry, clean or promote, and a read-only one (bull-board's readOnlyMode
 * hides those buttons and refuses their routes) for read-only credentials.
 */
export function createQueueBoard(redis: Redis, options: { title: string }): QueueBoard {
  const boards = [createBoard(false, options.title), createBoard(true, options.title)] as const;
  const open = new Map<string, OpenQueue>();

  return {
    handler: (canWrite) => boards[canWrite ? 0 : 1].handler,
    async show(queues) {
      const wanted = new Map(queues.map((queue) => [queueKey(queue), queue]));
      const gone = [...open].filter(([key]) => !wanted.has(key));
      for (const [key, location] of wanted) {
        // skipMetasUpdate: looking at a queue must not write to it (its meta belongs to its owners).
        if (!open.has(key)) open.set(key, { location, queue: new Queue(location.name, { connection: redis, prefix: location.prefix, skipMetasUpdate: true }) });
      }
      for (const [key] of gone) open.delete(key);
      for (const board of boards) board.replace([...open.values()]);
      await Promise.all(gone.map(([, { queue }]) => queue.close()));
    },
    async close() {
      const queues = [...open.values()];
      open.clear();
      for (const board of boards) board.replace([]);
      await Promise.all(queues.map(({ queue }) => queue.close()));
    },
  };
}

function createBoard(readOnlyMode: boolean, title: string) {
  const serverAdapter = new ExpressAdapter();
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: { uiConfig: { boardTitle: title, ...(readOnlyMode ? { environment: { label: "read-only", color: "#6b7280" } } : {}) } },
  });
  return {
    handler: serverAdapter.getRouter() as Express,
    replace(queues: OpenQueue[]) {
      // bull-board names a queue `<adapter prefix><queue name>`: with the Redis prefix, its full
      // namespace, as two prefixes may each hold a queue of one name.
      board.replaceQueues(queues.map(({ location, queue }) => new BullMQAdapter(queue, { readOnlyMode, prefix: `${location.prefix}:` })));
    },
  };
}
