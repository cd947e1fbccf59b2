import type { Logger, Viewer } from "@startales/service-kit";
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from "graphql";
import type { RateLimitState } from "./plugins/rate-limit";

/** Filled by plugins/live-capture.ts when a subscription has passed the request pipeline over WebSocket. */
export type LiveCapture = { schema?: GraphQLSchema; document?: DocumentNode; operation?: OperationDefinitionNode };

export type GatewayContext = {
  viewer: Viewer;
  requestId: string;
  traceparent?: string;
  logger: Logger;
  /** The signed identity for subgraph fetches: made once per request, on first use. */
  identityToken: () => Promise<string>;
  /** What the request has been charged so far (plugins/rate-limit.ts). */
  rateLimit: RateLimitState;
  /**
   * Subgraphs must decide access afresh (`Cache-Control: no-cache` on every fetch): set for a
   * live subscription's authorize checks, which must see a leave or kick at once.
   */
  revalidate?: boolean;
  /** Set on a graphql-ws `subscribe`: a subscription is captured here instead of executed. */
  live?: LiveCapture;
};
