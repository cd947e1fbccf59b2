import type { ApolloServerPlugin } from "@apollo/server";
import { OperationTypeNode } from "graphql";
import { ErrorCode, requestError } from "@startales/service-kit";
import type { GatewayContext } from "../context";

/**
 * Subscriptions share the query pipeline up to execution: parsing and query limits,
 * validation, persisted operations and the safelist, cost rate limits, client usage and
 * logging all apply to a `subscribe` over graphql-ws exactly as to an HTTP request. Then,
 * instead of executing (@apollo/gateway cannot), the validated operation is handed to the
 * subscription layer. Over HTTP a subscription is refused with a pointer to WebSocket.
 */
export function liveCapturePlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation }) {
          if (operation?.operation === OperationTypeNode.SUBSCRIPTION && !contextValue.live) {
            throw requestError(ErrorCode.BAD_USER_INPUT, "Subscriptions are served over WebSocket (graphql-ws, subprotocol graphql-transport-ws) on /graphql");
          }
        },
        async responseForOperation({ contextValue, operation, document, schema }) {
          const capture = contextValue.live;
          if (!capture || operation.operation !== OperationTypeNode.SUBSCRIPTION) return null;
          Object.assign(capture, { schema, document, operation });
          return { http: { status: undefined, headers: new Map() }, body: { kind: "single", singleResult: {} } } as never;
        },
      };
    },
  };
}
