import { STATUS_CODES } from "node:http";
import { Agent } from "undici";
import type { Fetcher, FetcherHeaders, FetcherResponse } from "@apollo/utils.fetcher";
import { UPSTREAM_KEEP_ALIVE_MS } from "@startales/service-kit";

type RawHeaders = Record<string, string | string[] | undefined>;
type Body = { text(): Promise<string>; json(): Promise<unknown>; arrayBuffer(): Promise<ArrayBuffer>; bodyUsed?: boolean };

/** The response headers as the fetch API shows them, read-only, over undici's plain object. */
class ResponseHeaders implements FetcherHeaders {
  constructor(private readonly raw: RawHeaders) {}
  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) yield [name, this.get(name)!];
  }
  *keys(): IterableIterator<string> {
    yield* Object.keys(this.raw);
  }
  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
  append(): void {
    throw new Error("response headers are read-only");
  }
  delete(): void {
    throw new Error("response headers are read-only");
  }
  set(): void {
    throw new Error("response headers are read-only");
  }
}

/** A subgraph's answer with the part of the fetch Response API that @apollo/gateway reads. */
class SubgraphResponse implements FetcherResponse {
  readonly redirected = false;
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: FetcherHeaders;

  constructor(
    readonly url: string,
    readonly status: number,
    headers: RawHeaders,
    private readonly body: Body,
  ) {
    this.ok = status >= 200 && status < 300;
    this.statusText = STATUS_CODES[status] ?? "";
    this.headers = new ResponseHeaders(headers);
  }
  get bodyUsed(): boolean {
    return this.body.bodyUsed ?? false;
  }
  text(): Promise<string> {
    return this.body.text();
  }
  json(): Promise<unknown> {
    return this.body.json();
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.body.arrayBuffer();
  }
  clone(): FetcherResponse {
    throw new Error("a subgraph response is read once");
  }
}

/**
 * The fetch used for every subgraph call: one keep-alive connection pool per origin (no
 * TCP or HTTP setup per request), and a deadline per fetch (no answer, or a stalled body,
 * within `timeoutMs`) so a stuck subgraph fails its part of the plan instead of holding the
 * client. It speaks undici's dispatcher API rather than WHATWG fetch: no web streams,
 * abort signals or Request objects per call, which profiling showed to be a fifth of the
 * gateway's CPU under load (bench/gateway.ts).
 */
export function createSubgraphFetcher(options: { connections: number; timeoutMs: number }): { fetcher: Fetcher; close: () => Promise<void> } {
  // Subgraphs keep idle sockets longer than UPSTREAM_KEEP_ALIVE_MS (their config enforces it),
  // so the gateway is always the side that closes an idle socket, never mid-request.
  const agent = new Agent({ connections: options.connections, keepAliveTimeout: UPSTREAM_KEEP_ALIVE_MS, keepAliveMaxTimeout: 60_000 });
  // Subgraph URLs are few: parse each once.
  const targets = new Map<string, { origin: string; path: string }>();
  const target = (url: string) => {
    let parsed = targets.get(url);
    if (!parsed) {
      const { origin, pathname, search } = new URL(url);
      parsed = { origin, path: `${pathname}${search}` };
      targets.set(url, parsed);
    }
    return parsed;
  };
  const fetcher: Fetcher = async (url, init = {}) => {
    const { origin, path } = target(url);
    const response = await agent.request({
      origin,
      path,
      method: (init.method ?? "GET") as "GET",
      headers: init.headers,
      body: init.body,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      ...(init.signal ? { signal: init.signal as AbortSignal } : {}),
    });
    return new SubgraphResponse(url, response.statusCode, response.headers as RawHeaders, response.body as unknown as Body);
  };
  return { fetcher, close: () => agent.close() };
}
