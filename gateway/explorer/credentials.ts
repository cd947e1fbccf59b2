/**
 * The credentials of the request headers editor, whose JSON is sent as HTTP headers and,
 * for subscriptions, as the graphql-ws `connection_init` payload (README, Subscriptions).
 */

const CREDENTIAL_HEADERS = ["authorization", "x-api-key"];

/** The editor's text as headers: {} when empty, undefined when it is not a JSON object. */
export function parseHeaders(text: string): Record<string, unknown> | undefined {
  if (!text.trim()) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Header values as strings, the way fetch sends them. */
export function headerStrings(headers: Record<string, unknown> = {}): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined && value !== null).map(([name, value]) => [name, String(value)]));
}

const withoutCredentials = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.includes(name.toLowerCase())));

/**
 * The editor's text with `authorization: Bearer <token>` in place of any credential it
 * had (the gateway refuses a request that carries both kinds); other headers are kept.
 * Text that is not a JSON object is replaced.
 */
export function withBearer(text: string, accessToken: string): string {
  return JSON.stringify({ ...withoutCredentials(parseHeaders(text) ?? {}), authorization: `Bearer ${accessToken}` }, null, 2);
}

/** The editor's text without its credentials. */
export function withoutBearer(text: string): string {
  const rest = withoutCredentials(parseHeaders(text) ?? {});
  return Object.keys(rest).length ? JSON.stringify(rest, null, 2) : "";
}

/** The `connection_init` payload for these headers: only the credential, named in lower case. */
export function connectionParams(headers: Record<string, unknown> = {}): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(headerStrings(headers))) {
    const lower = name.toLowerCase();
    if (CREDENTIAL_HEADERS.includes(lower)) params[lower] = value;
  }
  return params;
}
