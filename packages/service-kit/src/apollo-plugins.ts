import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { REQUEST_ID_HEADER } from "./correlation";
import { isErrorCode } from "./errors";

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_OPERATION_LABELS = 500;

/** Bounds label cardinality: operation names are client-chosen. */
function operationLabel(seen: Set<string>, name: string | null | undefined): string {
  if (!name) return "anonymous";
  if (!OPERATION_NAME.test(name)) return "invalid";
  if (seen.has(name)) return name;
  if (seen.size >= MAX_OPERATION_LABELS) return "other";
  seen.add(name);
  return name;
}

/** Request duration by operation and an error counter by code. */
export function metricsPlugin<T extends BaseContext>(metrics: Metrics): ApolloServerPlugin<T> {
  const seen = new Set<string>();
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async didEncounterErrors({ errors, operationName }) {
          const operation = operationLabel(seen, operationName);
          for (const error of errors) {
            const code = error.extensions?.code;
            metrics.graphqlErrors.inc({ code: isErrorCode(code) ? code : "INTERNAL_SERVER_ERROR", operation });
          }
        },
        async willSendResponse({ operationName, operation }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.graphqlDuration.observe(
            { operation: operationLabel(seen, operationName), type: operation?.operation ?? "unknown" },
            seconds,
          );
        },
      };
    },
  };
}

/**
 * One debug line per request with its correlation id (echoed to the caller as
 * x-request-id), and unexpected errors logged with their stack; clients see them masked.
 */
export function requestLoggingPlugin<T extends BaseContext & { logger: Logger; requestId: string }>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            if (!isErrorCode(code) || code === "INTERNAL_SERVER_ERROR") {
              contextValue.logger.error({ err: error.originalError ?? error, operationName, path: error.path }, "unexpected GraphQL error");
            }
          }
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
