import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print, type GraphQLFormattedError } from "graphql";

export type GraphQLResponse<T> = {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: GraphQLFormattedError[];
};

export type RequestOptions = { token?: string; headers?: Record<string, string> };

/** Sends a typed operation over HTTP exactly as a client would. */
export async function graphql<TData, TVariables>(
  url: string,
  document: TypedDocumentNode<TData, TVariables>,
  variables?: TVariables,
  options: RequestOptions = {},
): Promise<GraphQLResponse<TData>> {
  return postGraphQL<TData>(url, { query: print(document), variables }, options);
}

/** For requests codegen cannot type: raw documents, malformed bodies' neighbours. */
export async function postGraphQL<TData = unknown>(url: string, body: unknown, options: RequestOptions = {}): Promise<GraphQLResponse<TData>> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { data?: TData | null; errors?: GraphQLFormattedError[] };
  return { status: res.status, headers: res.headers, data: json.data, errors: json.errors };
}

/** The error codes of a response, in order; [] when it has none. */
export const errorCodes = (response: { errors?: GraphQLFormattedError[] }) =>
  (response.errors ?? []).map((e) => e.extensions?.code);

/** The data of a response that must have succeeded; fails the test with the errors otherwise. */
export function expectData<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length || response.data == null) {
    throw new Error(`expected data, got status ${response.status}: ${JSON.stringify(response.errors)}`);
  }
  return response.data;
}
