import { serviceUnavailable } from "./errors";
import type { Logger } from "./logger";

/**
 * Whether an error means the database cannot be used right now (unreachable, restarting,
 * out of connections: a retry later may work) rather than a bug or a bad request, in the
 * shapes Prisma 6 with the pg driver adapter and pg itself raise them. Bad credentials or
 * a missing database are not outages: retrying does not help, they stay internal errors.
 */

/** Prisma's connection-class error codes (prisma.io/docs/orm/reference/error-reference). */
const PRISMA_CODES = new Set([
  "P1001", // can't reach the database server
  "P1002", // the server was reached but timed out
  "P1008", // operation timed out
  "P1017", // the server closed the connection
  "P2024", // timed out fetching a connection from the pool
  "P2028", // a transaction could not start, or ran out of time, with the database too busy (rolled back)
  "P2037", // too many database connections opened
]);

/** The driver adapter's kinds of the same (@prisma/driver-adapter-utils). */
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

/** SQLSTATEs: class 08 (connection exception), shutdown by an administrator or a crash, starting up, too many connections. */
const isOutageSqlState = (code: string) => /^08[0-9A-Z]{3}$/.test(code) || code === "57P01" || code === "57P02" || code === "57P03" || code === "53300";

/** Socket errors pg raises as they come from node:net. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/** What pg and pg-pool raise without a code: a connection lost, or none to be had in time. */
const PG_MESSAGES = [/^Connection terminated/, /^timeout exceeded when trying to connect$/, /^Client has encountered a connection error and is not queryable$/];

type Fields = {
  name?: unknown;
  code?: unknown;
  originalCode?: unknown;
  kind?: unknown;
  syscall?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: unknown;
  driverAdapterError?: unknown;
  originalError?: unknown;
};

const fieldsOf = (value: unknown): Fields | undefined => (value !== null && typeof value === "object" ? (value as Fields) : undefined);

/** The reason of a driver adapter error's cause ({kind, code, originalCode}). */
function adapterReason(cause: Fields | undefined): string | undefined {
  if (!cause) return undefined;
  if (typeof cause.kind === "string" && ADAPTER_KINDS.has(cause.kind)) return cause.kind;
  const sqlState = cause.originalCode ?? cause.code;
  return typeof sqlState === "string" && isOutageSqlState(sqlState) ? sqlState : undefined;
}

function reasonOf(error: unknown, depth: number): string | undefined {
  const fields = fieldsOf(error);
  if (!fields || depth > 3) return undefined;
  // graphql-js wraps a resolver's error; the driver's own error is underneath.
  if (fields.originalError !== undefined) return reasonOf(fields.originalError, depth + 1);
  if (fields.name === "DriverAdapterError") return adapterReason(fieldsOf(fields.cause));
  const code = fields.code;
  if (typeof code === "string") {
    if (/^P\d{4}$/.test(code)) {
      if (PRISMA_CODES.has(code)) return code;
      // A raw query's failure (P2010) carries the driver's error that caused it.
      return adapterReason(fieldsOf(fieldsOf(fieldsOf(fields.meta)?.driverAdapterError)?.cause));
    }
    if (isOutageSqlState(code)) return code;
    return SOCKET_CODES.has(code) && typeof fields.syscall === "string" ? code : undefined;
  }
  const message = fields.message;
  return typeof message === "string" && PG_MESSAGES.some((pattern) => pattern.test(message)) ? message : undefined;
}

/**
 * A short reason for the logs (Prisma's code, the SQLSTATE, the adapter's kind, the socket
 * error or pg's message) when `error` is a database outage; undefined otherwise.
 */
export const databaseOutageReason = (error: unknown): string | undefined => reasonOf(error, 0);

/** Long enough for a restart or failover to finish, short enough not to idle a client long. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** What a client is told: no host, driver or SQL, only that it may retry. */
export const databaseUnavailable = () => serviceUnavailable("Temporarily unavailable; try again shortly", DATABASE_RETRY_AFTER_SECONDS);

/** One warning line about the dependency, without a stack: an outage is not a bug of ours. */
export function warnDatabaseOutage(logger: Logger, reason: string, details: Record<string, unknown> = {}): void {
  logger.warn({ ...details, dependency: "database", reason }, "database unavailable; answering SERVICE_UNAVAILABLE");
}
