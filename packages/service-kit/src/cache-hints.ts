import { maybeCacheControlFromInfo, type CacheHint } from "@apollo/cache-control-types";
import type { GraphQLResolveInfo } from "graphql";

/**
 * How long a field's answer stays true, and whether it is the same for everyone, in Apollo
 * Server's cache-control terms: the subgraph's response carries the whole answer's policy
 * in `Cache-Control` (the strictest of its fields; a field without a hint that returns an
 * object, and every root field, is `no-store`), and the gateway reads it.
 *
 * In this supergraph PUBLIC means "the same for every caller the field's own authorization
 * lets through" (members of a channel see the same message), never "anyone may read it": the
 * gateway shares one subscription execution among subscribers only on a PUBLIC answer, after
 * authorizing each of them, and tells HTTP clients of signed-in requests `private`, so no
 * shared cache keeps an answer that needed credentials. So a field whose value depends on who
 * asks (their own email, their own view) must say PRIVATE, or the answer it is part of would
 * be shared.
 */
export function cacheHint(info: GraphQLResolveInfo, hint: CacheHint): void {
  maybeCacheControlFromInfo(info)?.setCacheHint(hint);
}

/** A field whose value depends on who asks: the answer it is part of is never shared. */
export const dependsOnViewer = (info: GraphQLResolveInfo): void => cacheHint(info, { scope: "PRIVATE" });
