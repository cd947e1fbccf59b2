import type { GraphiQLProps } from "graphiql";
import { Kind, parse, type DocumentNode, type GraphQLError } from "graphql";
import { createClient, type Client } from "graphql-ws";
import { connectionParams, headerStrings } from "./credentials";

type Fetcher = GraphiQLProps["fetcher"];
type Params = Parameters<Fetcher>[0];
type Result = { data?: unknown; errors?: readonly unknown[] };
type Sink = { next(value: Result): void; error(error: unknown): void; complete(): void };

/** Where the page talks to the gateway: the origin it was served from. */
export function gatewayEndpoints(location: Location = window.location) {
  const ws = location.protocol === "https:" ? "wss:" : "ws:";
  return { http: `${location.origin}/graphql`, ws: `${ws}//${location.host}/graphql` };
}

/** The document as sent: GraphiQL's own parse (`documentAST`) may lag behind the editor by a keystroke. */
function documentOf(query: string): DocumentNode | undefined {
  try {
    return parse(query);
  } catch {
    return undefined;
  }
}

/** Is the operation to run (the named one, or the document's only one) a subscription? */
function isSubscription(query: string, operationName: string | null | undefined): boolean {
  const operations = documentOf(query)?.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION) ?? [];
  const chosen = operationName ? operations.find((operation) => operation.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  return chosen?.operation === "subscription";
}

/** graphql-ws reports a closed socket as its close event; GraphiQL shows an Error best. */
function describe(error: unknown): Error {
  if (error instanceof Error) return error;
  const close = error as { code?: unknown; reason?: unknown };
  if (typeof close?.code === "number") return new Error(`The socket closed: ${close.code}${close.reason ? ` ${String(close.reason)}` : ""}`);
  return new Error(String(error));
}

/**
 * Queries and mutations go over HTTP POST; subscriptions over graphql-ws on the same URL,
 * with the headers editor's credential in `connection_init` (browsers cannot set headers on
 * a WebSocket). One socket is kept per credential: a new credential gets a new socket.
 */
export function createExplorerFetcher(endpoints: { http: string; ws: string }): Fetcher {
  let socket: { key: string; client: Client } | undefined;
  const clientFor = (params: Record<string, string>): Client => {
    const key = JSON.stringify(params);
    if (socket?.key !== key) {
      void socket?.client.dispose();
      socket = { key, client: createClient({ url: endpoints.ws, connectionParams: params, lazy: true }) };
    }
    return socket.client;
  };

  const subscribe = (params: Params, headers: Record<string, unknown> | undefined) => ({
    subscribe(sink: Sink) {
      const request = { query: params.query, operationName: params.operationName ?? undefined, variables: params.variables ?? undefined };
      const unsubscribe = clientFor(connectionParams(headers)).subscribe<unknown>(request, {
        next: (result) => sink.next(result as Result),
        error: (error) => {
          // A refusal (`error` message) is GraphQL errors: shown as a response, like a query's.
          if (Array.isArray(error)) {
            sink.next({ errors: error as GraphQLError[] });
            sink.complete();
          } else sink.error(describe(error));
        },
        complete: () => sink.complete(),
      });
      return { unsubscribe };
    },
  });

  const post = async (params: Params, headers: Record<string, unknown> | undefined): Promise<Result> => {
    const response = await fetch(endpoints.http, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/graphql-response+json, application/json", ...headerStrings(headers) },
      body: JSON.stringify(params),
    });
    const text = await response.text();
    try {
      return JSON.parse(text) as Result;
    } catch {
      throw new Error(`HTTP ${response.status}: ${text.slice(0, 500)}`);
    }
  };

  return ((params, options) =>
    isSubscription(params.query, params.operationName) ? subscribe(params, options?.headers) : post(params, options?.headers)) as Fetcher;
}
