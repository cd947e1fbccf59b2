import type { Logger, Viewer } from "@startales/service-kit";
import type { RateLimitState } from "./plugins/rate-limit";

export type GatewayContext = {
  viewer: Viewer;
  requestId: string;
  traceparent?: string;
  logger: Logger;
  /** The signed identity for subgraph fetches: made once per request, on first use. */
  identityToken: () => Promise<string>;
  /** What the request has been charged so far (plugins/rate-limit.ts). */
  rateLimit: RateLimitState;
};
