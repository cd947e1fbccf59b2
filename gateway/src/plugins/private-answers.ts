import type { ApolloServerPlugin } from "@apollo/server";
import type { GatewayContext } from "../context";

/**
 * A subgraph's PUBLIC means "the same for everyone its authorization lets through"
 * (service-kit cache-hints.ts), not "anyone may read it": an answer to a signed-in request
 * is therefore `private` (the client may keep it for its max-age, a shared cache or CDN may
 * not, whatever it does with the Authorization header). Anonymous answers keep their scope.
 */
export function privateAnswersPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue, overallCachePolicy }) {
      if (contextValue.viewer.kind !== "anonymous") overallCachePolicy.restrict({ scope: "PRIVATE" });
    },
  };
}
