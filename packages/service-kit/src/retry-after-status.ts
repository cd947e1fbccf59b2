import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { ErrorCode } from "./errors";

/**
 * A response that is nothing but an error, and a retryable one (SERVICE_UNAVAILABLE with
 * `retryAfter` seconds), is answered as any unavailable HTTP service answers: 503 with
 * Retry-After, so proxies, load balancers and HTTP clients retry without reading the body.
 * A response with data stays 200: part of it was answered, the errors say which part failed.
 */
export function retryAfterStatusPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== "single") return;
          const { data, errors } = response.body.singleResult;
          if (data != null || !errors?.length) return;
          let retryAfter = 0;
          for (const error of errors) {
            const seconds = error.extensions?.retryAfter;
            if (error.extensions?.code === ErrorCode.SERVICE_UNAVAILABLE && typeof seconds === "number") retryAfter = Math.max(retryAfter, seconds);
          }
          if (retryAfter <= 0) return;
          response.http.status = 503;
          response.http.headers.set("retry-after", String(Math.ceil(retryAfter)));
        },
      };
    },
  };
}
