import { required } from "./config";
import { migrateAll } from "./migrate-all";

/**
 * A database of a service for one suite alone (the run's database plus `_<suffix>`), migrated
 * with the real migrations: for tests no other suite's service may touch (e.g. no other outbox
 * relay). `drop()` removes it.
 */
export async function privateDatabase(service: string, suffix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const variable = `${service.toUpperCase()}_DATABASE_URL`;
  const url = new URL(required(variable));
  url.pathname = `${url.pathname}_${suffix}`;
  const env = { [variable]: url.toString() };
  await migrateAll(env, ["--service", service]);
  return { url: url.toString(), drop: async () => void (await migrateAll(env, ["--service", service, "--drop"])) };
}
