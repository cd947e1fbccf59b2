import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import { IDENTITY_HEADER, REQUEST_ID_HEADER, TRACEPARENT_HEADER } from "@startales/service-kit";
import type { GatewayContext } from "./context";

/** Every subgraph request carries the gateway-signed identity and the correlation id. */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    // Health checks and schema loading have no request context.
    if (!("identityToken" in context) || !request.http) return;
    request.http.headers.set(IDENTITY_HEADER, await context.identityToken());
    request.http.headers.set(REQUEST_ID_HEADER, context.requestId);
    if (context.traceparent) request.http.headers.set(TRACEPARENT_HEADER, context.traceparent);
  }
}
