import type { GraphQLFormattedError } from "graphql";
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { fetchMetrics, metricValue } from "./metrics";

export const wsUrlOf = (graphqlUrl: string) => graphqlUrl.replace(/^http/, "ws");

/** The subscriptions a gateway (by its origin) counts as active: its gateway_subscriptions gauge. */
export const activeSubscriptions = async (gatewayUrl: string): Promise<number> =>
  metricValue(await fetchMetrics(gatewayUrl), "gateway_subscriptions") ?? 0;

/**
 * Waits until the gateway counts `count` more active subscriptions than `before` (from then on
 * no event is missed), unless `unless()` says the subscription ended first (refused); throws
 * after `timeoutMs`.
 */
export async function untilSubscribed(gatewayUrl: string, before: number, options: { count?: number; unless?: () => boolean; timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (!options.unless?.()) {
    if ((await activeSubscriptions(gatewayUrl)) >= before + (options.count ?? 1)) return;
    if (Date.now() > deadline) throw new Error(`the gateway at ${gatewayUrl} did not count the subscription`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until the gateway counts no more active subscriptions than `at` (closes are counted a moment after they happen). */
export async function untilUnsubscribed(gatewayUrl: string, at: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await activeSubscriptions(gatewayUrl)) > at) {
    if (Date.now() > deadline) throw new Error(`the gateway at ${gatewayUrl} still counts more than ${at} subscriptions`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export type Credentials = { token?: string; apiKey?: string };

const connectionParams = ({ token, apiKey }: Credentials) => ({
  ...(token ? { authorization: `Bearer ${token}` } : {}),
  ...(apiKey ? { "x-api-key": apiKey } : {}),
});

/** A graphql-ws client as an app would use it, without retries (a test wants to see closes). */
export function wsClient(graphqlUrl: string, credentials: Credentials = {}): Client & { closes: { code: number; reason: string }[] } {
  const closes: { code: number; reason: string }[] = [];
  const client = createClient({
    url: wsUrlOf(graphqlUrl),
    webSocketImpl: WebSocket,
    connectionParams: connectionParams(credentials),
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    on: { closed: (event) => closes.push({ code: (event as { code: number }).code, reason: String((event as { reason: unknown }).reason) }) },
  });
  return Object.assign(client, { closes });
}

/** What one subscription received so far, and ways to wait for more. */
export type Subscription<T> = {
  results: { data?: T | null; errors?: readonly GraphQLFormattedError[] }[];
  /** The errors it ended with (an `error` message, or a close), if it ended so. */
  error: readonly GraphQLFormattedError[] | { code: number; reason: string } | null;
  completed: boolean;
  /** Resolves once `count` results arrived; rejects when it ends first or after the timeout. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once the subscription ended (error, close or completion). */
  ended(timeoutMs?: number): Promise<void>;
  stop(): void;
};

export function subscribe<T = Record<string, unknown>>(client: Client, query: string, variables: Record<string, unknown> = {}): Subscription<T> {
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  const subscription: Subscription<T> = {
    results: [],
    error: null,
    completed: false,
    waitFor: (count, timeoutMs = 10_000) => until(() => subscription.results.length >= count, `${count} results`, timeoutMs),
    ended: (timeoutMs = 10_000) => until(() => subscription.completed || subscription.error !== null, "the end", timeoutMs),
    stop: () => dispose(),
  };
  function until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done()) {
          cleanup();
          resolve();
        } else if (subscription.completed || subscription.error) {
          cleanup();
          reject(new Error(`subscription ended before ${what}: ${JSON.stringify(subscription.error)}; got ${JSON.stringify(subscription.results)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(subscription.results)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  }
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        subscription.results.push(result as Subscription<T>["results"][number]);
        notify();
      },
      error: (error) => {
        subscription.error = Array.isArray(error) ? (error as GraphQLFormattedError[]) : { code: (error as { code?: number }).code ?? 0, reason: String((error as { reason?: unknown }).reason ?? error) };
        notify();
      },
      complete: () => {
        subscription.completed = true;
        notify();
      },
    },
  );
  return subscription;
}

/** The error codes of a subscription's `error` message. */
export const subscriptionErrorCodes = (subscription: Subscription<unknown>) =>
  Array.isArray(subscription.error) ? subscription.error.map((e) => e.extensions?.code) : [];

/** A bare socket speaking the protocol frame by frame, for the protocol's own rules. */
export async function rawSocket(graphqlUrl: string, protocol: string | string[] = "graphql-transport-ws") {
  const socket = new WebSocket(wsUrlOf(graphqlUrl), protocol);
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let closed: { code: number; reason: string } | null = null;
  socket.on("message", (data) => {
    messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
    waiters.forEach((w) => w());
  });
  socket.on("close", (code, reason) => {
    closed = { code, reason: reason.toString() };
    waiters.forEach((w) => w());
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  const wait = <R>(get: () => R | undefined, what: string, timeoutMs = 10_000) =>
    new Promise<R>((resolve, reject) => {
      const check = () => {
        const value = get();
        if (value !== undefined) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages)} closed=${JSON.stringify(closed)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    socket,
    messages,
    send: (message: unknown) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    /** The first message (from `from` on) of this type. */
    message: (type: string, from = 0) => wait(() => messages.slice(from).find((m) => m.type === type), `a ${type} message`),
    closed: (timeoutMs?: number) => wait(() => closed ?? undefined, "the close", timeoutMs),
    close: () => socket.close(),
  };
}
