import pino, { type DestinationStream, type Logger } from "pino";
import { redactText } from "./redact";
import { activeTraceIds } from "./trace-context";

export type { Logger };

// Values that must never reach a log line, wherever they appear in a logged object.
const REDACT_PATHS = [
  "password",
  "*.password",
  "refreshToken",
  "*.refreshToken",
  "accessToken",
  "*.accessToken",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-startales-identity"]',
  'req.headers["x-api-key"]',
  "email",
  "*.email",
  "variables.input.password",
  "variables.input.email",
  "variables.refreshToken",
];

/** One JSON logger per process; per-request children carry the correlation id, lines inside a span its trace and span ids. */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    formatters: { level: (label) => ({ level: label }) },
    // A line written inside a span says which: `trace_id` finds the request's trace (docs/tracing.md).
    // (A fresh object: pino merges the line's fields into it.)
    mixin: () => activeTraceIds() ?? {},
    // Every serialized line passes the text redactor: personal data inside messages too.
    hooks: { streamWrite: redactText },
  }, destination ?? pino.destination({ sync: true }));
}
