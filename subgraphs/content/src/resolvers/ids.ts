import { badInput } from "@startales/service-kit";

/** Asset, pack version and campaign ids are UUIDs: anything else names nothing, and is never sent to PostgreSQL's uuid columns. */
export const isId = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

/** An argument that must be an id: BAD_USER_INPUT naming the field when it is not. */
export function checkId(field: string, value: string): void {
  if (!isId(value)) throw badInput(`${field} is not an id`, [{ field, message: "not a UUID" }]);
}
