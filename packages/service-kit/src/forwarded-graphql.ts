import type { GraphQLError } from "graphql";
import { REQUEST_ID_HEADER } from "./correlation";
import { ErrorCode, appError } from "./errors";
import { IDENTITY_HEADER } from "./identity-assertion";
import type { Logger } from "./logger";
import type { OperationText } from "./operation-text";
import type { ForwardedIdentity } from "./subgraph-app";
import { injectTraceHeaders } from "./trace-context";

export type GraphQLResult<TData> = { data?: TData | null; errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[] };

/**
 * A POST of an operation (operationText: printed once, typed by codegen) to another
 * subgraph's GraphQL endpoint as the caller: the gateway's signed identity
 * header is forwarded exactly as received (its audience is every subgraph), so the subgraph
 * asked applies its own rules and the asking one holds no privilege of its own there. The
 * answer belongs to the caller's trace. The subgraph unreachable, slow (`timeoutMs`) or failing
 * (5xx) is `unavailable()`; a request that did not come through the gateway is UNAUTHENTICATED.
 */
export function forwardedGraphQL(options: { url: string; timeoutMs: number; logger: Logger; subgraph: string; unavailable: () => GraphQLError }) {
  return async function post<TData, TVariables>(forwarded: ForwardedIdentity, operation: OperationText<TData, TVariables>, variables: TVariables): Promise<GraphQLResult<TData>> {
    const { query } = operation;
    if (!forwarded.identity) throw appError(ErrorCode.UNAUTHENTICATED, "Requests must come through the gateway");
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json",
      [IDENTITY_HEADER]: forwarded.identity,
      ...(forwarded.requestId ? { [REQUEST_ID_HEADER]: forwarded.requestId } : {}),
    };
    injectTraceHeaders(headers);
    let res: Response;
    try {
      res = await fetch(options.url, { method: "POST", headers, body: JSON.stringify({ query, variables }), redirect: "error", signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (error) {
      options.logger.warn({ err: error }, `${options.subgraph} subgraph unreachable`);
      throw options.unavailable();
    }
    if (res.status >= 500) {
      options.logger.warn({ status: res.status }, `${options.subgraph} subgraph failed`);
      await res.body?.cancel();
      throw options.unavailable();
    }
    if (res.status === 401) {
      await res.body?.cancel();
      throw appError(ErrorCode.UNAUTHENTICATED, "Requests must come through the gateway");
    }
    try {
      return (await res.json()) as GraphQLResult<TData>;
    } catch (error) {
      options.logger.warn({ err: error, status: res.status }, `${options.subgraph} subgraph answered something other than JSON`);
      throw options.unavailable();
    }
  };
}
