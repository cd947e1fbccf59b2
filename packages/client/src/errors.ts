import { isErrorCode, type ErrorCode } from "./error-codes";

/** One error of a response, with the extensions the API documents. */
export type ApiError = {
  message: string;
  path?: readonly (string | number)[];
  locations?: readonly { line: number; column: number }[];
  extensions?: {
    code?: ErrorCode;
    /** BAD_USER_INPUT: the offending fields. */
    fields?: { field: string; message: string }[];
    /** RATE_LIMITED, SERVICE_UNAVAILABLE: seconds to wait before trying again. */
    retryAfter?: number;
    /** A finer cause, e.g. BUDGET_EXCEEDED, RESUME_POINT_EXPIRED, EVENT_UNAVAILABLE. */
    reason?: string;
    /** Subscriptions interrupted by SERVICE_UNAVAILABLE: resume from here. */
    lastEventId?: string;
    [key: string]: unknown;
  };
};

/**
 * A request the API answered with errors. `code` is the first error's code; a code outside
 * the contract (there should be none: the gateway masks them) counts as INTERNAL_SERVER_ERROR.
 */
export class GraphQLRequestError extends Error {
  override readonly name = "GraphQLRequestError";
  readonly code: ErrorCode;
  readonly codes: ErrorCode[];
  readonly errors: readonly ApiError[];
  /** The HTTP status; undefined over WebSocket. */
  readonly status?: number;
  /** What the request did return alongside the errors, if anything. */
  readonly data?: unknown;

  constructor(errors: readonly ApiError[], options: { status?: number; data?: unknown } = {}) {
    const first = errors[0];
    super(first ? `${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more errors)` : ""}` : "The request failed without an error message");
    this.errors = errors;
    this.codes = errors.map((error) => codeOf(error));
    this.code = this.codes[0] ?? "INTERNAL_SERVER_ERROR";
    this.status = options.status;
    this.data = options.data;
  }

  /** Seconds to wait before retrying (RATE_LIMITED, SERVICE_UNAVAILABLE), if the API said. */
  get retryAfter(): number | undefined {
    return this.errors.find((error) => typeof error.extensions?.retryAfter === "number")?.extensions?.retryAfter;
  }

  get reason(): string | undefined {
    return this.errors.find((error) => typeof error.extensions?.reason === "string")?.extensions?.reason;
  }
}

const codeOf = (error: ApiError): ErrorCode => (isErrorCode(error.extensions?.code) ? error.extensions.code : "INTERNAL_SERVER_ERROR");

/** The API could not be reached, or answered with something that is not a GraphQL response. */
export class NetworkError extends Error {
  override readonly name = "NetworkError";
  readonly status?: number;
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.status = options.status;
  }
}

/** A subscription's socket closed for good (a close the client does not retry). */
export class SubscriptionClosedError extends Error {
  override readonly name = "SubscriptionClosedError";
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string) {
    super(`the subscription's socket closed with ${code}${reason ? `: ${reason}` : ""}`);
    this.code = code;
    this.reason = reason;
  }
}

/** Whether an error is the API's, optionally with one code: `if (isApiError(error, "NOT_FOUND"))`. */
export const isApiError = (error: unknown, code?: ErrorCode): error is GraphQLRequestError =>
  error instanceof GraphQLRequestError && (code === undefined || error.codes.includes(code));
