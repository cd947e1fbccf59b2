import { migrateAll } from "./migrate-all";

/** Drops the run's databases (their URLs are in the env global-setup set), so runs leave nothing behind. */
export default async function globalTeardown(): Promise<void> {
  await migrateAll({}, ["--drop"]);
}
