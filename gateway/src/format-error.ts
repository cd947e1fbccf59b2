import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { ErrorCode, maskError } from "@startales/service-kit";
import { isQueryLimitError } from "./plugins/query-limits";

// Apollo's own refusals of a malformed request (CSRF prevention, a bad body, batching off,
// an unknown operation name) are our BAD_REQUEST: their messages are Apollo's, safe and
// useful to the client.
const APOLLO_REQUEST_CODES = new Set(["OPERATION_RESOLUTION_FAILURE"]);

/** Apollo's APQ refusals ("provided sha does not match query") carry an HTTP 4xx but no code. */
function isUncodedClientError(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined) return false;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === "number" && status >= 400 && status < 500;
}

/**
 * The gateway's formatError: gives our codes back to errors Apollo relabelled (a query
 * limit becomes GRAPHQL_VALIDATION_FAILED inside Apollo) and BAD_REQUEST to Apollo's
 * request refusals that carry another code or none; then masks as every service does.
 */
export function formatGatewayError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  const relabel = isQueryLimitError(error)
    ? ErrorCode.QUERY_TOO_COMPLEX
    : (typeof code === "string" && APOLLO_REQUEST_CODES.has(code)) || isUncodedClientError(error)
      ? ErrorCode.BAD_REQUEST
      : undefined;
  return maskError(relabel ? { ...formatted, extensions: { ...formatted.extensions, code: relabel } } : formatted);
}
