import { NetworkError, type ApiError } from "./errors";

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<{
  status: number;
  text(): Promise<string>;
}>;

/** How a request proves who sends it: a player's access token or a tool's API key. */
export type Credentials = { accessToken?: string; apiKey?: string };

export type HttpResult<TData> = { status: number; data?: TData | null; errors?: readonly ApiError[] };

export type HttpTransport = <TData>(
  body: { query: string; variables?: unknown },
  credentials: Credentials,
  signal?: AbortSignal,
) => Promise<HttpResult<TData>>;

export const credentialHeaders = ({ accessToken, apiKey }: Credentials): Record<string, string> =>
  apiKey ? { "x-api-key": apiKey } : accessToken ? { authorization: `Bearer ${accessToken}` } : {};

/**
 * GraphQL over HTTP: a JSON POST. Any answer with a GraphQL body is returned as it is, errors
 * included, whatever its status (a 4xx still carries the API's errors); only an unreachable
 * API or a body that is not a GraphQL response is a NetworkError.
 */
export function createHttpTransport(options: { url: string; fetch?: FetchLike; headers?: Record<string, string> }): HttpTransport {
  // Called through globalThis, not as a detached method: browsers refuse `fetch` without its window.
  const send: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  return async (body, credentials, signal) => {
    let response: Awaited<ReturnType<FetchLike>>;
    let text: string;
    try {
      response = await send(options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/graphql-response+json, application/json",
          ...options.headers,
          ...credentialHeaders(credentials),
        },
        body: JSON.stringify(body),
        signal,
      });
      text = await response.text();
    } catch (error) {
      throw new NetworkError(`cannot reach ${options.url}: ${(error as Error).message}`, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new NetworkError(`${options.url} answered HTTP ${response.status} without a GraphQL response`, { status: response.status });
    }
    if (typeof parsed !== "object" || parsed === null || !("data" in parsed || "errors" in parsed)) {
      throw new NetworkError(`${options.url} answered HTTP ${response.status} without data or errors`, { status: response.status });
    }
    const { data, errors } = parsed as { data?: unknown; errors?: ApiError[] };
    return { status: response.status, data: data as never, errors };
  };
}
