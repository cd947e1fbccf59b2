import { z } from "zod";
import { badInput } from "./errors";

/** Parses input or throws BAD_USER_INPUT naming each offending field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({ field: issue.path.join(".") || "input", message: issue.message }));
  throw badInput(issues.map((i) => `${i.field} ${i.message}`).join("; "), issues);
}

const uuid = z.uuid();

/** Every id in the graph is a UUID. */
export const isId = (value: unknown): value is string => uuid.safeParse(value).success;

/** IDs are UUIDs; anything else is BAD_USER_INPUT before it reaches the database. */
export function parseId(value: unknown, field = "id"): string {
  if (isId(value)) return value;
  throw badInput(`${field} must be a valid ID`, [{ field, message: "must be a valid ID" }]);
}
