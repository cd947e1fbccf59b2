import type { Logger } from "./logger";
import type { Tracing } from "./tracing";

/** What an entry point runs: something that listens and can be stopped gracefully. */
export type Service = {
  listen(): Promise<string>;
  stop(): Promise<void>;
};

/**
 * Starts a service and stops it on SIGTERM/SIGINT: stop accepting, finish in-flight work,
 * close connections, flush the traces, exit 0. A second signal, or a stop that hangs, exits 1.
 */
export async function runService(service: Service, logger: Logger, options: { graceMs: number; tracing?: Tracing }): Promise<void> {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal during shutdown; exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const hardStop = setTimeout(() => {
      logger.error("shutdown did not finish in time; exiting");
      process.exit(1);
    }, options.graceMs + 5_000);
    hardStop.unref();
    try {
      await service.stop();
      // The spans of the last requests and jobs, which the exporter batches, leave before the exit.
      await options.tracing?.shutdown();
      logger.info("stopped");
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, "error during shutdown");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled promise rejection"));
  try {
    const url = await service.listen();
    logger.info({ url }, "listening");
  } catch (error) {
    logger.fatal({ err: error }, "failed to start");
    process.exit(1);
  }
}
