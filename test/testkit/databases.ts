import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { required } from "./config";

const root = join(__dirname, "..", "..");

const adminUrl = (databaseUrl: string) => {
  const url = new URL(databaseUrl);
  url.pathname = "/postgres";
  return url.toString();
};

async function admin(databaseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl(databaseUrl) });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A database of a service for one suite alone (the run's database plus `_<suffix>`), migrated
 * with the real migrations: for tests no other suite's service may touch (e.g. no other outbox
 * relay). `drop()` removes it.
 */
export async function privateDatabase(service: string, suffix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const url = new URL(required(`${service.toUpperCase()}_DATABASE_URL`));
  url.pathname = `${url.pathname}_${suffix}`;
  const name = url.pathname.slice(1);
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unsupported database name: ${name}`);
  await admin(url.toString(), `CREATE DATABASE "${name}"`);
  await promisify(execFile)(
    process.execPath,
    ["--require", join(root, "prisma", "unref-engine-timers.cjs"), join(root, "node_modules", "prisma", "build", "index.js"), "migrate", "deploy"],
    { cwd: join(root, "subgraphs", service), env: { ...process.env, DATABASE_URL: url.toString(), CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" } },
  );
  return { url: url.toString(), drop: () => admin(url.toString(), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
