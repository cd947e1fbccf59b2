import { GraphQLScalarType, Kind } from "graphql";
import { badInput } from "./errors";

function toDate(value: unknown): Date {
  const date = value instanceof Date ? value : typeof value === "string" ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw badInput("DateTime must be an ISO-8601 date-time string");
  return date;
}

/** ISO-8601 UTC timestamps, the same in every subgraph. */
export const DateTimeScalar = new GraphQLScalarType({
  name: "DateTime",
  description: "An ISO-8601 date-time in UTC, e.g. 2026-11-25T09:30:00.000Z",
  serialize: (value) => toDate(value).toISOString(),
  parseValue: (value) => toDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw badInput("DateTime must be a string");
    return toDate(ast.value);
  },
});
