import { createClient as createWsClient, type Client as WsClient, type ClientOptions } from "graphql-ws/client";
import { operationText, type Operation } from "./document";
import { GraphQLRequestError, SubscriptionClosedError, type ApiError } from "./errors";
import { credentialHeaders } from "./http";
import type { SessionKeeper } from "./session";

/** The API's error (FORBIDDEN, an ended session…), a close the client does not retry, or another failure. */
export type SubscriptionError = GraphQLRequestError | SubscriptionClosedError | Error;

export type SubscriptionSink<TData> = {
  /** One event. `errors` lists fields of it that could not be resolved (they are null in `data`). */
  next(data: TData, errors?: readonly ApiError[]): void;
  /** The subscription ended with an error (the API's, or a socket closed for good). */
  error?(error: SubscriptionError): void;
  /** The subscription ended: the server completed it, or the client was closed. */
  complete?(): void;
};

/**
 * For feeds with an `after` argument: the id of the event `data` is, which becomes `after`
 * for every reconnect. Only where the payload's id is the feed's event id (campaignEvents,
 * textStream); a notification's id, for one, is not.
 */
export type SubscribeOptions<TData, TVariables> = "after" extends keyof TVariables
  ? { resumeFrom?: (data: TData) => string | null | undefined }
  : { resumeFrom?: never };

export type Subscriptions = {
  subscribe<TData, TVariables>(document: Operation<TData, TVariables>, variables: NoInfer<TVariables>, sink: SubscriptionSink<NoInfer<TData>>, options?: SubscribeOptions<NoInfer<TData>, NoInfer<TVariables>>): () => void;
  close(): Promise<void>;
};

export type SubscriptionsOptions = {
  /** ws:// or wss:// URL of the gateway's /graphql. */
  url: string;
  /** A WebSocket class: `ws` in Node 20; browsers (and Node 22+) have their own. */
  webSocketImpl?: unknown;
  session: SessionKeeper;
  apiKey?: string;
  /** graphql-ws's events (connected, closed, …), e.g. to show a connection indicator. */
  on?: ClientOptions["on"];
};

/** The close code the gateway uses for a credential it no longer accepts (an expired token, a revoked key). */
const CREDENTIAL_REFUSED = 4403;

/**
 * graphql-ws with what a game client needs: a fresh credential on every (re)connect, retries
 * for ever (with backoff) while subscriptions are open, and resume. graphql-ws re-sends the
 * same payload object on every reconnect; each subscription gets its own variables object
 * whose `after` follows the last event received, so a reconnect is a resume: the gateway
 * replays what was missed, in order, then goes live.
 */
export function createSubscriptions(options: SubscriptionsOptions): Subscriptions {
  let lastToken: string | undefined;

  // Made at the first subscription: a client that only queries needs no WebSocket at all.
  let ws: WsClient | undefined;
  const connect = (): WsClient =>
    (ws ??= createWsClient({
      url: options.url,
      webSocketImpl: options.webSocketImpl,
      lazy: true,
      retryAttempts: Infinity,
      // Full jitter from 250 ms, capped at 30 s; graphql-ws counts from 0 again once connected.
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(30_000, 250 * 2 ** retries))),
      // Everything is retried (a refused connection, a replica going away, an expired token
      // replaced on the next connect) except what no retry can fix: an ended session (thrown
      // by connectionParams below) and a revoked API key.
      shouldRetry: (event) => !(event instanceof GraphQLRequestError) && !(options.apiKey && isCloseEvent(event) && event.code === CREDENTIAL_REFUSED),
      connectionParams: async () => {
        if (options.apiKey) return credentialHeaders({ apiKey: options.apiKey });
        try {
          lastToken = await options.session.accessToken();
        } catch (error) {
          if (error instanceof GraphQLRequestError) throw error;
          // The refresh could not reach the API: try with what we have; the gateway refuses
          // an expired token with 4403, and the next attempt refreshes again.
          lastToken = options.session.current()?.accessToken;
          if (lastToken) options.session.refuse(lastToken);
        }
        return credentialHeaders({ accessToken: lastToken });
      },
      on: {
        ...options.on,
        closed: (event) => {
          if (isCloseEvent(event) && event.code === CREDENTIAL_REFUSED && lastToken) options.session.refuse(lastToken);
          options.on?.closed?.(event);
        },
      },
    }));

  const toError = (error: unknown): SubscriptionError => {
    if (Array.isArray(error)) return new GraphQLRequestError(error as ApiError[]);
    if (isCloseEvent(error)) return new SubscriptionClosedError(error.code, error.reason);
    return error instanceof Error ? error : new Error(String((error as { message?: unknown }).message ?? error));
  };

  return {
    subscribe(document, variables, sink, subscribeOptions) {
      // Its own object: graphql-ws sends this very object again on each reconnect.
      const payloadVariables = { ...variables } as Record<string, unknown>;
      const resumeFrom = subscribeOptions?.resumeFrom as ((data: unknown) => string | null | undefined) | undefined;
      return connect().subscribe(
        { query: operationText(document), variables: payloadVariables },
        {
          next: (result) => {
            if (result.data == null) return sink.error?.(new GraphQLRequestError((result.errors ?? []) as ApiError[]));
            const cursor = resumeFrom?.(result.data);
            if (cursor) payloadVariables.after = cursor;
            sink.next(result.data as never, result.errors as ApiError[] | undefined);
          },
          error: (error) => sink.error?.(toError(error)),
          complete: () => sink.complete?.(),
        },
      );
    },
    close: async () => {
      await ws?.dispose();
    },
  };
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === "object" && value !== null && "code" in value && typeof value.code === "number" && "reason" in value;
}
