import { GraphQLError, type GraphQLFormattedError } from "graphql";

/** The error codes clients rely on (the README lists them). No other code leaves a service. */
export const ErrorCode = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  /** The HTTP request is not a GraphQL request that can run: its body, parameters or operation selection (GraphQL over HTTP's "request error"). */
  BAD_REQUEST: "BAD_REQUEST",
  /** A value the operation carries (an argument or variable) is not acceptable. */
  BAD_USER_INPUT: "BAD_USER_INPUT",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  RATE_LIMITED: "RATE_LIMITED",
  QUERY_TOO_COMPLEX: "QUERY_TOO_COMPLEX",
  GRAPHQL_PARSE_FAILED: "GRAPHQL_PARSE_FAILED",
  GRAPHQL_VALIDATION_FAILED: "GRAPHQL_VALIDATION_FAILED",
  PERSISTED_QUERY_NOT_FOUND: "PERSISTED_QUERY_NOT_FOUND",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const knownCodes = new Set<string>(Object.values(ErrorCode));
export const isErrorCode = (code: unknown): code is ErrorCode => typeof code === "string" && knownCodes.has(code);

/** An error's code as a bounded label: ours, or INTERNAL_SERVER_ERROR for any other (a label set a caller cannot grow). */
export const errorCodeLabel = (code: unknown): ErrorCode => (isErrorCode(code) ? code : ErrorCode.INTERNAL_SERVER_ERROR);

const httpStatusByCode: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};

/** Builds the GraphQLError a resolver throws: a message for humans, a code for programs. */
export function appError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/**
 * An error for the whole HTTP request (thrown from a context function), where the code
 * also decides the HTTP status, e.g. 401 for a bad token. Public extensions (`retryAfter`)
 * and response headers (`Retry-After`) can ride along; Apollo applies the headers.
 */
export function requestError(
  code: ErrorCode,
  message: string,
  options: { extensions?: Record<string, unknown>; headers?: Record<string, string> } = {},
): GraphQLError {
  const status = httpStatusByCode[code] ?? 400;
  const http = options.headers ? { status, headers: new Map(Object.entries(options.headers)) } : { status };
  return new GraphQLError(message, { extensions: { ...options.extensions, code, http } });
}

export type FieldIssue = { field: string; message: string };

export const badInput = (message: string, issues: FieldIssue[] = []) =>
  appError(ErrorCode.BAD_USER_INPUT, message, issues.length ? { fields: issues } : {});
export const unauthenticated = (message = "You must be signed in") => appError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = "You are not allowed to do this") => appError(ErrorCode.FORBIDDEN, message);
export const notFound = (message: string) => appError(ErrorCode.NOT_FOUND, message);
export const conflict = (message: string, extensions: Record<string, unknown> = {}) =>
  appError(ErrorCode.CONFLICT, message, extensions);
/** Something the service needs is down for now: the same request may work `retryAfter` seconds later. */
export const serviceUnavailable = (message: string, retryAfter: number) => appError(ErrorCode.SERVICE_UNAVAILABLE, message, { retryAfter });

const MASKED_MESSAGE = "Internal server error";
// Extensions a client may see; everything else (stack traces, exception objects,
// service names, SQL) stays in the logs.
const PUBLIC_EXTENSIONS = new Set(["code", "fields", "from", "to", "retryAfter", "reason"]);

/**
 * Masks what a client must not see. An error without one of our codes is replaced by a
 * generic INTERNAL_SERVER_ERROR; known codes keep their message and public extensions.
 */
export function maskError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (!isErrorCode(code) || code === ErrorCode.INTERNAL_SERVER_ERROR) {
    return { message: MASKED_MESSAGE, locations: formatted.locations, path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  }
  const extensions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(formatted.extensions ?? {})) {
    if (PUBLIC_EXTENSIONS.has(key)) extensions[key] = value;
  }
  return { ...formatted, extensions };
}
