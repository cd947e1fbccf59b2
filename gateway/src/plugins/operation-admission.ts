import type { ApolloServerPlugin, GraphQLRequestContextDidResolveOperation } from "@apollo/server";
import { Kind, type DocumentNode, type OperationDefinitionNode } from "graphql";
import { getVariableValues } from "graphql/execution/values";
import { ErrorCode, requestError } from "@startales/service-kit";
import type { GatewayContext } from "../context";
import { operationCost, type RateLimitState } from "./rate-limit";
import { formatCount } from "./query-limits";

export type AdmissionOptions = {
  maxCost: number;
  /** Charges an admitted operation's cost to the caller's budget (throws RATE_LIMITED). */
  chargeCost: (state: RateLimitState, cost: number) => Promise<void>;
};

const operationsOf = (document: DocumentNode) =>
  document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);

/** Why no operation was selected: what the client sent and what the document offers. */
export function operationSelectionProblem(document: DocumentNode, operationName: unknown): string {
  const names = operationsOf(document).map((o) => o.name?.value ?? "(anonymous)");
  const offered = names.length > 0 ? ` (the document has: ${names.join(", ")})` : "";
  if (operationName === "") return `operationName is empty: name one of the document's operations or leave it out${offered}`;
  if (typeof operationName === "string") return `Unknown operation named "${operationName}"${offered}`;
  return `Must provide operationName when the document has several operations${offered}`;
}

/**
 * Decides, once the operation is parsed and validated and before anything is planned, sent
 * or charged, whether it may run, in this order: an operation was selected (an empty,
 * unknown or missing operationName is a 400 BAD_REQUEST: stock Apollo Server would go on to
 * run the document's only operation and then answer 500); its variables coerce to their
 * types (400 BAD_USER_INPUT: `first: 1e308` never reaches the estimate); its cost with these
 * variables is within MAX_QUERY_COST (validation could only use defaults, so a variable
 * page size of 2^31 is QUERY_TOO_COMPLEX, not a charge that empties the budget for a
 * minute). Only then is the cost charged. One hook, because Apollo runs every plugin's
 * didResolveOperation at once: a check in another plugin could not stop this charge.
 */
export function operationAdmissionPlugin(options: AdmissionOptions): ApolloServerPlugin<GatewayContext> {
  const admit = async (requestContext: GraphQLRequestContextDidResolveOperation<GatewayContext>) => {
    const { operation, document, request, schema, contextValue } = requestContext;
    if (!operation) throw requestError(ErrorCode.BAD_REQUEST, operationSelectionProblem(document, request.operationName));

    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {}, { maxErrors: 5 });
    if (coerced.errors) throw requestError(ErrorCode.BAD_USER_INPUT, coerced.errors.map((e) => e.message).join("; "));

    const cost = operationCost(schema, document, requestContext.operationName, coerced.coerced);
    if (cost > options.maxCost) {
      throw requestError(ErrorCode.QUERY_TOO_COMPLEX, `Query cost estimate ${formatCount(cost)} exceeds the limit of ${options.maxCost}`);
    }
    await options.chargeCost(contextValue.rateLimit, cost);
  };
  return {
    async requestDidStart() {
      return { didResolveOperation: admit };
    },
  };
}
