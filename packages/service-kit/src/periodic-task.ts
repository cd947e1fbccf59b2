import type { Logger } from "./logger";

export type PeriodicTask = {
  /** Runs the work now, then `everyMs` after each run ends. */
  start(): void;
  /** No further runs; resolves once the run in flight (if any) has ended. */
  stop(): Promise<void>;
};

/**
 * Background repair work (sweeps, reconcilers) on a timer: never two runs at once (the next
 * is scheduled when one ends, so a slow run delays the next instead of piling up), and a run
 * that fails is logged and tried again at the next one — repair work must outlive the outage
 * it repairs.
 */
export function periodicTask(work: () => Promise<unknown>, options: { everyMs: number; logger: Logger; failure: string }): PeriodicTask {
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> | undefined;
  const pass = () => {
    if (!running) return;
    inFlight = work()
      .catch((error) => options.logger.warn({ err: error }, options.failure))
      .finally(() => {
        inFlight = undefined;
        if (running) timer = setTimeout(pass, options.everyMs);
      });
  };
  return {
    start() {
      if (running) return;
      running = true;
      pass();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
