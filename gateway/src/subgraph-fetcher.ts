import { Agent, fetch as undiciFetch } from "undici";
import type { Fetcher } from "@apollo/utils.fetcher";

/**
 * The fetch used for every subgraph call: one keep-alive connection pool per origin (no
 * TCP or HTTP setup per request), and a timeout per fetch so a stuck subgraph fails its
 * part of the plan instead of holding the client.
 */
export function createSubgraphFetcher(options: { connections: number; timeoutMs: number }): { fetcher: Fetcher; close: () => Promise<void> } {
  const agent = new Agent({ connections: options.connections, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000 });
  const fetcher = ((url: string, init: Record<string, unknown> = {}) => {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal as AbortSignal, timeout]) : timeout;
    return undiciFetch(url, { ...init, signal, dispatcher: agent } as Parameters<typeof undiciFetch>[1]);
  }) as unknown as Fetcher;
  return { fetcher, close: () => agent.close() };
}
