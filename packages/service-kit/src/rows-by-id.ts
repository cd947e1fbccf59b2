import { isId } from "./input";

/**
 * A batch of rows read by id (a DataLoader's batch function), in the batch's order, null
 * where there is none. Ids that are not UUIDs name nothing and never reach PostgreSQL, where
 * one would fail the whole batch (entity representations come from other subgraphs); an
 * empty batch reads nothing.
 */
export async function rowsById<T extends { id: string }>(ids: readonly string[], read: (valid: string[]) => Promise<T[]>): Promise<(T | null)[]> {
  const valid = ids.filter(isId);
  const rows = valid.length > 0 ? await read(valid) : [];
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}
