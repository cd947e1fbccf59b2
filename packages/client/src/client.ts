import { operationText, type Operation, type VariablesArgument } from "./document";
import { GraphQLRequestError, type ApiError } from "./errors";
import {
  RefreshSessionDocument,
  SignInDocument,
  SignOutDocument,
  SignUpDocument,
  type LoginInput,
  type RefreshSessionMutation,
  type RegisterInput,
} from "./generated/graphql";
import { createHttpTransport, type FetchLike, type HttpResult } from "./http";
import { createSessionKeeper, type Session } from "./session";
import { createSubscriptions, type SubscribeOptions, type SubscriptionSink, type SubscriptionsOptions } from "./subscriptions";

export type StartalesClientOptions = {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  /** Where subscriptions connect; default: `url` with ws(s)://. */
  wsUrl?: string;
  /** A WebSocket class for subscriptions: `ws` in Node 20; browsers have their own. */
  webSocketImpl?: unknown;
  /** A session saved earlier (see onSessionChange), to stay signed in. */
  session?: Session | null;
  /** Told of each new session (sign-in, refresh: the refresh token rotates) and of null when it ends. */
  onSessionChange?: (session: Session | null) => void;
  /** For tools and services instead of a session: sent as X-Api-Key. */
  apiKey?: string;
  /** Sent as apollographql-client-name/-version, so operators see who still uses what (README, Versioning). */
  clientName?: string;
  clientVersion?: string;
  headers?: Record<string, string>;
  /** Replace the access token this long before it expires rather than send it (default 60 s). */
  refreshLeewayMs?: number;
  fetch?: FetchLike;
  /** The clock the token's expiry is compared with (default Date.now). */
  now?: () => number;
  on?: SubscriptionsOptions["on"];
};

export type ExecuteResult<TData> = { data?: TData | null; errors?: readonly ApiError[]; status: number };

export type StartalesClient = {
  /** Runs a query or mutation; throws GraphQLRequestError when the API answers with any error. */
  request<TData, TVariables>(document: Operation<TData, TVariables>, ...variables: VariablesArgument<NoInfer<TVariables>>): Promise<TData>;
  /** Runs a query or mutation and returns data and errors as they came (partial data included). */
  execute<TData, TVariables>(document: Operation<TData, TVariables>, ...variables: VariablesArgument<NoInfer<TVariables>>): Promise<ExecuteResult<TData>>;
  /** Subscribes over graphql-ws; returns the function that stops it. */
  subscribe<TData, TVariables>(document: Operation<TData, TVariables>, variables: NoInfer<TVariables>, sink: SubscriptionSink<NoInfer<TData>>, options?: SubscribeOptions<NoInfer<TData>, NoInfer<TVariables>>): () => void;
  signUp(input: RegisterInput): Promise<Session>;
  signIn(input: LoginInput): Promise<Session>;
  /** Ends the session on the server (its refresh tokens stop working) and here. */
  signOut(): Promise<void>;
  readonly session: Session | null;
  /** Closes the socket (open subscriptions complete). */
  close(): Promise<void>;
};

/**
 * The Startales API for a game client: typed operations over HTTP with the access token
 * renewed before it expires (and once more when the API refuses it), and subscriptions
 * over graphql-ws that resume where they stopped.
 */
export function createStartalesClient(options: StartalesClientOptions): StartalesClient {
  const post = createHttpTransport({
    url: options.url,
    fetch: options.fetch,
    headers: {
      ...(options.clientName ? { "apollographql-client-name": options.clientName } : {}),
      ...(options.clientVersion ? { "apollographql-client-version": options.clientVersion } : {}),
      ...options.headers,
    },
  });
  const succeed = <TData>(result: HttpResult<TData>): TData => {
    if (result.errors?.length || result.data == null) throw new GraphQLRequestError(result.errors ?? [], { status: result.status, data: result.data });
    return result.data;
  };
  const session = createSessionKeeper({
    initial: options.session,
    onChange: options.onSessionChange,
    leewayMs: options.refreshLeewayMs ?? 60_000,
    now: options.now ?? Date.now,
    refresh: async (refreshToken) => succeed(await post<RefreshSessionMutation>({ query: operationText(RefreshSessionDocument), variables: { refreshToken } }, {})).refreshToken,
  });

  async function execute<TData, TVariables>(document: Operation<TData, TVariables>, variables?: TVariables): Promise<ExecuteResult<TData>> {
    const body = { query: operationText(document), variables };
    if (options.apiKey) return post<TData>(body, { apiKey: options.apiKey });
    const accessToken = await session.accessToken();
    const result = await post<TData>(body, { accessToken });
    // 401: the gateway refused the token before running anything, so sending again is safe.
    if (result.status !== 401 || !accessToken || !result.errors?.some((e) => e.extensions?.code === "UNAUTHENTICATED")) return result;
    return post<TData>(body, { accessToken: await session.refresh(accessToken) });
  }

  const subscriptions = createSubscriptions({
    url: options.wsUrl ?? options.url.replace(/^http/, "ws"),
    webSocketImpl: options.webSocketImpl,
    session,
    apiKey: options.apiKey,
    on: options.on,
  });

  // Sign-up and sign-in: anonymous calls whose one field is the new session.
  const start = async <TData extends Record<string, Session>, TVariables>(document: Operation<TData, TVariables>, variables: TVariables) => {
    const data = succeed(await post<TData>({ query: operationText(document), variables }, {}));
    const started = Object.values(data)[0] as Session;
    session.set(started);
    return started;
  };

  return {
    request: async (document, ...[variables]) => succeed(await execute(document, variables)),
    execute: (document, ...[variables]) => execute(document, variables),
    subscribe: (document, variables, sink, subscribeOptions) => subscriptions.subscribe(document, variables, sink, subscribeOptions),
    signUp: (input) => start(SignUpDocument, { input }),
    signIn: (input) => start(SignInDocument, { input }),
    async signOut() {
      const current = session.current();
      session.set(null);
      if (current) succeed(await post({ query: operationText(SignOutDocument), variables: { refreshToken: current.refreshToken } }, {}));
    },
    get session() {
      return session.current();
    },
    close: () => subscriptions.close(),
  };
}
