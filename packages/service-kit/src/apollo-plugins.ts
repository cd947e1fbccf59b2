import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { REQUEST_ID_HEADER } from "./correlation";
import { errorCodeLabel } from "./errors";
import { LOG_LEVEL_OF_SOURCE, failureSourceOf } from "./log-levels";

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_OPERATION_LABELS = 500;

/**
 * Operation names as labels: they are client-chosen, so bounded. A name that is not a GraphQL
 * name is `invalid`, none is `anonymous`, and past the first 500 distinct ones of the process
 * each new one is `other`. One per process and purpose, so the bound holds across requests.
 */
export function createOperationLabels(): (name: string | null | undefined) => string {
  const seen = new Set<string>();
  return (name) => {
    if (!name) return "anonymous";
    if (!OPERATION_NAME.test(name)) return "invalid";
    if (seen.has(name)) return name;
    if (seen.size >= MAX_OPERATION_LABELS) return "other";
    seen.add(name);
    return name;
  };
}

/** Request duration by operation and an error counter by code. */
export function metricsPlugin<T extends BaseContext>(metrics: Metrics): ApolloServerPlugin<T> {
  const operationLabel = createOperationLabels();
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async didEncounterErrors({ errors, operationName }) {
          const operation = operationLabel(operationName);
          for (const error of errors) {
            metrics.graphqlErrors.inc({ code: errorCodeLabel(error.extensions?.code), operation });
          }
        },
        async willSendResponse({ operationName, operation }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.graphqlDuration.observe(
            { operation: operationLabel(operationName), type: operation?.operation ?? "unknown" },
            seconds,
          );
        },
      };
    },
  };
}

type ErrorLike = { message: string; extensions?: Record<string, unknown>; originalError?: unknown; path?: unknown };

/** How one request's errors are logged: at most one line, at the level of the worst of them (log-levels.ts). */
function logRequestErrors(logger: Logger, errors: readonly ErrorLike[], operationName: string | null | undefined): void {
  const sources = errors.map((error) => failureSourceOf(error));
  const faults = errors.filter((_error, index) => sources[index] === "server");
  // A fault is ours: each with its stack, since each may be a different bug.
  for (const error of faults) logger.error({ err: error.originalError ?? error, operationName, path: error.path }, "unexpected GraphQL error");
  if (faults.length > 0) return;
  const codes = errors.map((error) => String(error.extensions?.code));
  const messages = errors.slice(0, 3).map((error) => error.message);
  if (sources.includes("dependency")) logger[LOG_LEVEL_OF_SOURCE.dependency]({ operationName, codes, messages }, "request answered without a dependency");
  else if (errors.length > 0) logger[LOG_LEVEL_OF_SOURCE.client]({ operationName, codes, messages }, "request refused");
}

/**
 * One debug line per request with its correlation id (echoed to the caller as
 * x-request-id). Errors are logged once per request: a server fault at error with its
 * stack (clients see it masked), a dependency outage at warn, and a client's mistake
 * (validation, bad input, credentials, rate limits) at info without a stack, so a flood of
 * malformed requests never grows the error log. With `logger`, requests refused before
 * they have a context (a bad credential, a rate limit, a malformed body) are logged too.
 */
export function requestLoggingPlugin<T extends BaseContext & { logger: Logger; requestId: string }>(logger?: Logger): ApolloServerPlugin<T> {
  const refusedEarly = (error: Error) => {
    if (!logger) return;
    const extensions = (error as { extensions?: Record<string, unknown> }).extensions;
    logRequestErrors(logger, [{ message: error.message, extensions, originalError: error }], undefined);
  };
  return {
    async contextCreationDidFail({ error }) {
      refusedEarly(error);
    },
    async invalidRequestWasReceived({ error }) {
      refusedEarly(error);
    },
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          logRequestErrors(contextValue.logger, errors, operationName);
        },
        async willSendResponse({ contextValue, operationName, response, errors, request }) {
          response.http.headers.set(REQUEST_ID_HEADER, contextValue.requestId);
          const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
          // Variables help debugging; the logger's redaction removes credentials and personal data.
          const variables = request.variables;
          contextValue.logger.debug({ operationName, durationMs, errors: errors?.length ?? 0, variables }, "graphql request");
        },
      };
    },
  };
}
