import { GraphQLScalarType, Kind, valueFromASTUntyped } from "graphql";
import { badInput } from "./errors";

// RFC 3339 date-time with an explicit offset: no locale formats, no local time.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** Client input: only RFC 3339 with an offset, and only real calendar dates (no Feb 30 rolling into March). */
function parseDateTime(value: unknown): Date {
  const match = typeof value === "string" ? RFC3339.exec(value) : null;
  const date = match ? new Date(value as string) : new Date(NaN);
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  const realDate = calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
  if (!match || Number.isNaN(date.getTime()) || !realDate) throw badInput("DateTime must be an ISO-8601 date-time string");
  return date;
}

/** ISO-8601 UTC timestamps, the same in every subgraph. */
export const DateTimeScalar = new GraphQLScalarType({
  name: "DateTime",
  description: "An ISO-8601 (RFC 3339) date-time, e.g. 2026-11-25T09:30:00.000Z; output is always UTC",
  // Output comes from our own data: a bad value is a server bug (masked as internal), not bad input.
  serialize: (value) => {
    const date = value instanceof Date ? value : typeof value === "string" ? parseDateTime(value) : new Date(NaN);
    if (Number.isNaN(date.getTime())) throw new TypeError(`DateTime cannot represent ${String(value)}`);
    return date.toISOString();
  },
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw badInput("DateTime must be a string");
    return parseDateTime(ast.value);
  },
});

/** Any JSON value, passed through as is (e.g. audit entry details). */
export const JSONScalar = new GraphQLScalarType({
  name: "JSON",
  description: "Arbitrary JSON (an object, array, string, number, boolean or null).",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});
