/**
 * Which client app sent a request, as metric labels. Clients name themselves with Apollo's
 * headers (what Apollo Client, Apollo Kotlin and Apollo iOS send when configured with a
 * name and version); `x-client-name`/`x-client-version` are accepted for other clients.
 * The values are the client's to choose, so they are cleaned and bounded: a label set that
 * any caller can grow without limit would take the metrics store down.
 */
export const CLIENT_NAME_HEADERS = ["apollographql-client-name", "x-client-name"] as const;
export const CLIENT_VERSION_HEADERS = ["apollographql-client-version", "x-client-version"] as const;

export type ClientIdentity = { name: string; version: string };

/** Characters a label keeps; any run of others becomes one "_". */
const DISALLOWED = /[^A-Za-z0-9._-]+/g;
export const MAX_CLIENT_LABEL_LENGTH = 64;
/** Distinct client names, then "other". */
export const MAX_CLIENT_NAMES = 50;
/** Distinct (name, version) pairs, then version "other": versions churn with every release. */
export const MAX_CLIENT_VERSIONS = 200;

/** Sent when a client does not say. */
export const UNKNOWN_CLIENT = "unknown";
/** Beyond the bounds above. */
export const OTHER_CLIENT = "other";

type Headers = { get(name: string): string | undefined | null };

/** A header value as a label: trimmed, disallowed characters replaced, cut to 64; undefined when nothing is left. */
export function clientLabel(value: string | undefined | null): string | undefined {
  const label = value?.trim().replace(DISALLOWED, "_").slice(0, MAX_CLIENT_LABEL_LENGTH);
  return label ? label : undefined;
}

const firstHeader = (headers: Headers | undefined, names: readonly string[]) => {
  for (const name of names) {
    const value = headers?.get(name);
    if (value) return value;
  }
  return undefined;
};

/**
 * Reads the client identity of a request's headers (lower-case names, as Apollo's HeaderMap
 * has them). The first MAX_CLIENT_NAMES names and MAX_CLIENT_VERSIONS name/version pairs are
 * kept as they come, for the life of the process; later ones count as "other". One instance
 * per process, so the bounds hold across requests.
 */
export function createClientIdentities(limits = { names: MAX_CLIENT_NAMES, versions: MAX_CLIENT_VERSIONS }) {
  const names = new Set<string>();
  const pairs = new Set<string>();
  return (headers: Headers | undefined): ClientIdentity => {
    const name = clientLabel(firstHeader(headers, CLIENT_NAME_HEADERS)) ?? UNKNOWN_CLIENT;
    if (!names.has(name)) {
      if (names.size >= limits.names) return { name: OTHER_CLIENT, version: OTHER_CLIENT };
      names.add(name);
    }
    let version = clientLabel(firstHeader(headers, CLIENT_VERSION_HEADERS)) ?? UNKNOWN_CLIENT;
    const pair = `${name}\n${version}`;
    if (!pairs.has(pair)) {
      if (pairs.size >= limits.versions) version = OTHER_CLIENT;
      else pairs.add(pair);
    }
    return { name, version };
  };
}
