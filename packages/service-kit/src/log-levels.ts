import { ErrorCode, isErrorCode } from "./errors";
import type { Logger } from "./logger";

/**
 * Whose failure an error is, which decides the level of its log line (docs/logging.md):
 *
 * - `client`: the request was refused for what the client sent or did (a malformed body or
 *   message, a validation failure, bad input, a missing or refused credential, a permission,
 *   an unknown id, its pace): info, with its code and reason and never a stack, so a flood
 *   of bad requests cannot pass for an outage.
 * - `dependency`: something the service needs is unavailable and the answer says so
 *   (`SERVICE_UNAVAILABLE`, 503): warn, without a stack (the fault is not in our code).
 * - `server`: our fault (an unexpected exception, any other 5xx): error, with the stack.
 */
export type FailureSource = "client" | "dependency" | "server";

export const LOG_LEVEL_OF_SOURCE = { client: "info", dependency: "warn", server: "error" } as const satisfies Record<FailureSource, string>;

/** By an HTTP status: 4xx the client's, 503 a dependency's, anything else ours. */
export function failureSourceOfStatus(status: number): FailureSource {
  if (status >= 400 && status < 500) return "client";
  return status === 503 ? "dependency" : "server";
}

type Extensions = { code?: unknown; http?: { status?: unknown } };

function extensionsOf(error: unknown): Extensions | undefined {
  const extensions = error !== null && typeof error === "object" ? (error as { extensions?: unknown }).extensions : undefined;
  return extensions !== null && typeof extensions === "object" ? (extensions as Extensions) : undefined;
}

const statusIn = (extensions: Extensions | undefined) => (typeof extensions?.http?.status === "number" ? extensions.http.status : undefined);

/**
 * By the error's code: one of ours (errors.ts); else by the HTTP status it carries (Apollo's
 * own refusals: a persisted-query hash that does not match, an operation name it cannot
 * resolve); an error with neither, a plain exception, is ours.
 */
export function failureSourceOf(error: unknown): FailureSource {
  const extensions = extensionsOf(error);
  const code = extensions?.code;
  if (code === ErrorCode.SERVICE_UNAVAILABLE) return "dependency";
  if (code === ErrorCode.INTERNAL_SERVER_ERROR) return "server";
  if (isErrorCode(code)) return "client";
  const status = statusIn(extensions);
  return status === undefined ? "server" : failureSourceOfStatus(status);
}

/** The statuses a plain HTTP route (an upload, an internal call) answers a client's error with, by its code. */
const CLIENT_STATUS_BY_CODE: Partial<Record<string, number>> = {
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.RATE_LIMITED]: 429,
};

/** The HTTP status that answers an error: the one it carries, else its code's, else its source's (400, 503, 500). */
export function httpStatusOf(error: unknown): number {
  const source = failureSourceOf(error);
  const extensions = extensionsOf(error);
  const status = statusIn(extensions);
  if (status !== undefined && failureSourceOfStatus(status) === source) return status;
  if (source === "client") return CLIENT_STATUS_BY_CODE[String(extensions?.code)] ?? 400;
  return source === "dependency" ? 503 : 500;
}

/** What describes a refusal or an outage without its stack: the code and the message. */
function summaryOf(error: unknown): { code?: string; reason: string } {
  const code = extensionsOf(error)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  return typeof code === "string" ? { code, reason } : { reason };
}

/**
 * One line about a failure, at its source's level: a server fault with the error (its
 * stack), anything else with only its code and reason. `message` may differ by source.
 */
export function logFailure(logger: Logger, error: unknown, fields: Record<string, unknown>, message: string | Record<FailureSource, string>): FailureSource {
  const source = failureSourceOf(error);
  const text = typeof message === "string" ? message : message[source];
  if (source === "server") logger.error({ ...fields, err: error }, text);
  else logger[LOG_LEVEL_OF_SOURCE[source]]({ ...fields, ...summaryOf(error) }, text);
  return source;
}

/** One line about an answer decided without an error object (a refused upgrade, a closed socket), at its status's level. */
export function logAnswer(logger: Logger, status: number, fields: Record<string, unknown>, message: string): void {
  logger[LOG_LEVEL_OF_SOURCE[failureSourceOfStatus(status)]]({ ...fields, status }, message);
}
