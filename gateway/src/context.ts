import type { Logger, Viewer } from "@startales/service-kit";

export type GatewayContext = {
  viewer: Viewer;
  requestId: string;
  traceparent?: string;
  logger: Logger;
  /** The signed identity for subgraph fetches: made once per request, on first use. */
  identityToken: () => Promise<string>;
};
