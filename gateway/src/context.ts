import type { Logger, VersionedFeed, Viewer } from "@startales/service-kit";
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from "graphql";
import type { RateLimitState } from "./plugins/rate-limit";

/** Filled by plugins/live-capture.ts when a subscription has passed the request pipeline over WebSocket. */
export type LiveCapture = { schema?: GraphQLSchema; document?: DocumentNode; operation?: OperationDefinitionNode };

/** A campaign version an answer was computed from, as its subgraph named it (execution/versioned-answers.ts). */
export type AnswerDependency = { feed: VersionedFeed; campaignId: string; version: string };

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
  /**
   * Told, for each subgraph fetch of the request, the campaign versions its answer was
   * computed from (undefined: none named). Set for a live subscription's authorize checks,
   * which a later check may confirm from those versions (subscriptions/live-hub.ts).
   */
  answerVersions?: { record(dependencies: readonly AnswerDependency[] | undefined): void };
  /** Set on a graphql-ws `subscribe`: a subscription is captured here instead of executed. */
  live?: LiveCapture;
};
