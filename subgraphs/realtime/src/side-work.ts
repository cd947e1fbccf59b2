import type { Logger } from "@startales/service-kit";

/**
 * Work that follows a committed write but is not part of its answer (marking a chat author
 * active in Redis): started without the answer waiting for it, so a slow or unreachable Redis
 * never delays or fails a message that is already saved. Each run is watched for `timeoutMs`;
 * one that fails or takes longer is logged (it may still land later), and `drain()` waits for
 * what is still running, at most that long, before its connections close at shutdown.
 */
export function createSideWork(options: { timeoutMs: number }) {
  const running = new Set<Promise<void>>();

  function run(work: string, logger: Logger, task: () => Promise<unknown>): void {
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<"overrun">((resolve) => {
      timer = setTimeout(() => resolve("overrun"), options.timeoutMs);
    });
    const watched = Promise.race([Promise.resolve().then(task).then(() => "done" as const), overrun])
      .then((outcome) => {
        if (outcome === "overrun") logger.warn({ work, timeoutMs: options.timeoutMs }, "side work did not finish; the answer stands");
      })
      .catch((error: unknown) => logger.warn({ work, err: error }, "side work failed; the answer stands"))
      .finally(() => {
        clearTimeout(timer);
        running.delete(watched);
      });
    running.add(watched);
  }

  return {
    run,
    async drain(): Promise<void> {
      await Promise.all(running);
    },
  };
}

export type SideWork = ReturnType<typeof createSideWork>;
