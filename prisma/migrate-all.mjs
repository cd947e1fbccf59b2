#!/usr/bin/env node
// Creates every service's database if it is missing and applies its committed migrations
// (`prisma migrate deploy` on the Wasm schema engine; see prisma/config.ts and the README's Commands). Used by
// `npm start`, by the test setup and by operators (`npm run db:migrate`).
//   node prisma/migrate-all.mjs [--service <name>] [--drop]
// --service limits it to one service; --drop removes the databases instead (tests).
// The services with a database are services.json's; each keeps its schema and migrations in
// its folder's prisma/.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const root = resolve(import.meta.dirname, "..");
const run = promisify(execFile);

// services.json read here, not through scripts/: the image keeps prisma/ for the migration job, not scripts/.
const withDatabases = () => JSON.parse(readFileSync(join(root, "services.json"), "utf8")).services.filter((service) => service.database);

function serviceNamed(name) {
  const service = withDatabases().find((s) => s.name === name);
  if (!service) throw new Error(`services.json has no service ${name} with a database`);
  return service;
}

/** The services that own a database (services.json's `database`). */
export function servicesWithDatabases() {
  return withDatabases().map((service) => service.name);
}

/** The default database of a service on a server: postgresql://…/<its database, e.g. startales_identity>. */
export function databaseUrlFor(service, serverUrl = process.env.DATABASE_SERVER_URL ?? "postgresql://postgres@127.0.0.1:5432") {
  const url = new URL(serverUrl);
  url.pathname = `/${serviceNamed(service).database}`;
  return url.toString();
}

/** The database's name, checked to be safe to quote, and the server's maintenance database. */
function split(databaseUrl) {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unsupported database name: ${name}`);
  url.pathname = "/postgres";
  return { name, url };
}

export async function ensureDatabase(databaseUrl) {
  const { name, url } = split(databaseUrl);
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`cannot reach PostgreSQL at ${url.host}: ${error.message}`);
  }
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } catch (error) {
        if (error.code !== "42P04") throw error; // created concurrently: fine
      }
      return true;
    }
    return false;
  } finally {
    await client.end();
  }
}

export async function dropDatabase(databaseUrl) {
  const { name, url } = split(databaseUrl);
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** The service's committed migrations: directory name and checksum (sha256 of migration.sql, as Prisma records it). */
function committedMigrations(service) {
  const dir = join(root, serviceNamed(service).dir, "prisma", "migrations");
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, "migration.sql")))
    .map((entry) => ({ name: entry.name, checksum: createHash("sha256").update(readFileSync(join(dir, entry.name, "migration.sql"))).digest("hex") }));
}

/**
 * True when the database has applied exactly the committed migrations, each finished and
 * unchanged since: then `prisma migrate deploy` (seconds of schema-engine start-up) has
 * nothing to do. Anything else, a failed, edited, missing or unknown migration, is left to
 * Prisma to apply or report.
 */
export async function isUpToDate(service, databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rows: [table] } = await client.query("SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS present");
    if (!table.present) return false;
    const { rows } = await client.query("SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM _prisma_migrations");
    const applied = rows.filter((row) => !row.rolled_back);
    if (applied.some((row) => !row.finished)) return false;
    const committed = committedMigrations(service);
    if (applied.length !== committed.length) return false;
    const byName = new Map(applied.map((row) => [row.migration_name, row.checksum]));
    return committed.every(({ name, checksum }) => byName.get(name) === checksum);
  } finally {
    await client.end();
  }
}

export async function migrate(service, databaseUrl) {
  const cwd = join(root, serviceNamed(service).dir);
  try {
    await run(
      process.execPath,
      ["--require", join(root, "prisma", "unref-engine-timers.cjs"), join(root, "node_modules", "prisma", "build", "index.js"), "migrate", "deploy"],
      { cwd, env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" } },
    );
  } catch (error) {
    throw new Error(`migrating ${service} failed:\n${error.stdout ?? ""}${error.stderr ?? error.message}`);
  }
}

/** databases: { [service]: databaseUrl }. Runs the services side by side. */
export async function prepareDatabases(databases, log = console.log) {
  await Promise.all(
    Object.entries(databases).map(async ([service, url]) => {
      const created = await ensureDatabase(url);
      const name = new URL(url).pathname.slice(1);
      if (!created && (await isUpToDate(service, url))) return log(`db: ${service} up to date (${name})`);
      await migrate(service, url);
      log(`db: ${service} ${created ? "created and " : ""}migrated (${name})`);
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const only = args.includes("--service") ? args[args.indexOf("--service") + 1] : undefined;
  const services = servicesWithDatabases().filter((service) => !only || service === only);
  if (services.length === 0) {
    console.error(`no service with a database is called ${only}`);
    process.exit(1);
  }
  const drop = args.includes("--drop");
  const urlOf = (service) => process.env[`${service.toUpperCase()}_DATABASE_URL`] ?? (drop ? undefined : databaseUrlFor(service));
  // Dropping acts only on databases named explicitly: never on a default one.
  const databases = Object.fromEntries(services.map((service) => [service, urlOf(service)]).filter(([, url]) => url));
  const work = drop ? Promise.all(Object.values(databases).map((url) => dropDatabase(url))) : prepareDatabases(databases);
  work.catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
