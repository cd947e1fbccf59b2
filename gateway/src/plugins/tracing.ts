import type { ApolloServerPlugin } from "@apollo/server";
import { annotateActiveSpan, failSpan, startSpan, type Span } from "@startales/service-kit";
import type { GatewayContext } from "../context";

/** Ends a phase's span, marked failed with the phase's first error. */
const endPhase = (span: Span | undefined) => async (errors?: readonly Error[] | Error | null) => {
  if (!span) return;
  const error = Array.isArray(errors) ? errors[0] : errors;
  if (error) failSpan(span, error);
  span.end();
};

/**
 * The request pipeline's own phases as spans under the request's server span (docs/tracing.md):
 * `graphql.parse` and `graphql.validate` when Apollo Server runs them (a cached document skips
 * both). Planning and the subgraph fetches are spans of the executor. Nothing while tracing is off.
 */
export function tracingPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async parsingDidStart() {
          return endPhase(startSpan("gateway", "graphql.parse"));
        },
        async validationDidStart() {
          return endPhase(startSpan("gateway", "graphql.validate"));
        },
        async didResolveOperation({ operationName }) {
          // The server span is the active one here: name the operation on it.
          if (operationName) annotateActiveSpan({ "graphql.operation.name": operationName });
        },
      };
    },
  };
}
