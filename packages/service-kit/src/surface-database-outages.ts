import { isObjectType, responsePathAsArray, type GraphQLFieldResolver, type GraphQLResolveInfo, type GraphQLSchema } from "graphql";
import { databaseOutageReason, databaseUnavailable, warnDatabaseOutage } from "./database-outage";
import type { Logger } from "./logger";

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";

/**
 * Wraps every resolver of the schema (in place) so that an error meaning the database is
 * unreachable leaves it as the retryable SERVICE_UNAVAILABLE (with `retryAfter`), with one
 * warning per request naming the database; every other error passes unchanged. Done as
 * errors leave the resolvers rather than in formatError: Apollo's error listeners (the
 * request log, the error metrics) run before formatting and must see the code too, or an
 * outage is logged as a crash with its stack on every request. Apply it last, so it also
 * covers what other wrappers (authorization policies) ask of the database.
 */
export function surfaceDatabaseOutages<TContext>(schema: GraphQLSchema, options: { loggerOf: (context: TContext) => Logger }): GraphQLSchema {
  const warned = new WeakSet<object>();
  const surface = (error: unknown, context: TContext, info: GraphQLResolveInfo): unknown => {
    const reason = databaseOutageReason(error);
    if (reason === undefined) return error;
    if (typeof context === "object" && context !== null && !warned.has(context)) {
      warned.add(context);
      warnDatabaseOutage(options.loggerOf(context), reason, { path: responsePathAsArray(info.path).join(".") });
    }
    return databaseUnavailable();
  };
  const rethrow = (context: TContext, info: GraphQLResolveInfo) => (error: unknown) => {
    throw surface(error, context, info);
  };

  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      const resolve = field.resolve as GraphQLFieldResolver<unknown, TContext> | undefined;
      if (!resolve) continue; // default resolvers read properties; they never reach the database
      field.resolve = (source, args, context, info) => {
        let result: unknown;
        try {
          result = resolve(source, args, context, info);
        } catch (error) {
          throw surface(error, context, info);
        }
        if (isPromiseLike(result)) return result.then(undefined, rethrow(context, info));
        // `_entities` answers a list of promises, one per representation.
        if (Array.isArray(result) && result.some(isPromiseLike)) {
          return result.map((item: unknown) => (isPromiseLike(item) ? item.then(undefined, rethrow(context, info)) : item));
        }
        return result;
      };
    }
  }
  return schema;
}
