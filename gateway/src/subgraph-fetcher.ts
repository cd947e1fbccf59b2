import { Agent, fetch as undiciFetch } from "undici";
import type { Fetcher } from "@apollo/utils.fetcher";
import { UPSTREAM_KEEP_ALIVE_MS } from "@startales/service-kit";

/**
 * The fetch used for every subgraph call: one keep-alive connection pool per origin (no
 * TCP or HTTP setup per request), and a timeout per fetch so a stuck subgraph fails its
 * part of the plan instead of holding the client.
 */
export function createSubgraphFetcher(options: { connections: number; timeoutMs: number }): { fetcher: Fetcher; close: () => Promise<void> } {
  // Subgraphs keep idle sockets longer than UPSTREAM_KEEP_ALIVE_MS (their config enforces it),
  // so the gateway is always the side that closes an idle socket, never mid-request.
  const agent = new Agent({ connections: options.connections, keepAliveTimeout: UPSTREAM_KEEP_ALIVE_MS, keepAliveMaxTimeout: 60_000 });
  const fetcher = ((url: string, init: Record<string, unknown> = {}) => {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal as AbortSignal, timeout]) : timeout;
    return undiciFetch(url, { ...init, signal, dispatcher: agent } as Parameters<typeof undiciFetch>[1]);
  }) as unknown as Fetcher;
  return { fetcher, close: () => agent.close() };
}
