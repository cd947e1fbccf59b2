import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import type { GraphQLError } from "graphql";
import { ErrorCode, IDENTITY_HEADER, REQUEST_ID_HEADER, TRACEPARENT_HEADER, appError } from "@startales/service-kit";
import type { GatewayContext } from "./context";

type Options = ConstructorParameters<typeof RemoteGraphQLDataSource<GatewayContext>>[0] & { name: string };

/**
 * Every subgraph request carries the gateway-signed identity and the correlation id. A
 * subgraph that cannot be reached, times out or answers 5xx becomes SERVICE_UNAVAILABLE
 * for its part of the plan (the client may retry), without naming hosts or ports.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly name: string;

  constructor({ name, ...options }: Options) {
    super(options);
    this.name = name;
  }

  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    // Health checks and schema loading have no request context.
    if (!("identityToken" in context) || !request.http) return;
    request.http.headers.set(IDENTITY_HEADER, await context.identityToken());
    request.http.headers.set(REQUEST_ID_HEADER, context.requestId);
    if (context.traceparent) request.http.headers.set(TRACEPARENT_HEADER, context.traceparent);
  }

  override didEncounterError(error: Error, _request: unknown, response?: { status: number }, context?: GatewayContext): void {
    const unavailable = !response || response.status >= 500;
    if (!unavailable) throw error;
    context?.logger?.warn({ err: error, subgraph: this.name, status: response?.status }, "subgraph unavailable");
    throw appError(ErrorCode.SERVICE_UNAVAILABLE, `The ${this.name} service is unavailable; try again shortly`) as GraphQLError;
  }
}
