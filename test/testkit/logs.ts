import { Writable } from "node:stream";
import { createLogger, type Logger } from "@startales/service-kit";

/** A real pino logger whose JSON lines the test can read back. */
export function captureLogs(service: string, level = "debug"): { logger: Logger; lines: () => Record<string, unknown>[]; raw: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  // Built by the service kit, so redaction and format are exactly production's.
  const logger = createLogger(service, level, sink);
  const raw = () => chunks.join("");
  return {
    logger,
    raw,
    lines: () =>
      raw()
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
