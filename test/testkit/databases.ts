import { randomBytes } from "node:crypto";
import pg from "pg";
import { required } from "./config";

/**
 * A database of a service for one suite alone (the run's database plus `_<suffix>`), a copy
 * of the run's template, which the real migrations made (global-setup.ts): for tests no
 * other suite's service may touch (e.g. no other outbox relay). `drop()` removes it.
 */
export async function privateDatabase(service: string, suffix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const url = new URL(required(`${service.toUpperCase()}_DATABASE_URL`));
  url.pathname = `${url.pathname}_${suffix}`;
  return copyOfTemplate(service, url);
}

/** The server's maintenance database, for CREATE and DROP DATABASE. */
const maintenanceUrl = (databaseUrl: string) => Object.assign(new URL(databaseUrl), { pathname: "/postgres" }).toString();

async function onServer<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: maintenanceUrl(databaseUrl) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A stack's own copy of a service's database, made from the run's migrated template
 * (`<SERVICE>_TEMPLATE_DATABASE_URL`, global-setup.ts) in well under a second. For the
 * simulation: a worker pool schedules ticks for every RUNNING world its database holds, so
 * on the run's shared database every stack ticked every campaign any earlier suite had left
 * running (dozens of ticks a second by the middle of a run, each stack doing them again).
 */
export async function stackDatabase(service: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const url = new URL(required(`${service.toUpperCase()}_DATABASE_URL`));
  url.pathname = `${url.pathname}_s${randomBytes(4).toString("hex")}`;
  return copyOfTemplate(service, url);
}

/** A new database at `url`, copied from the service's template (`<SERVICE>_TEMPLATE_DATABASE_URL`, global-setup.ts). */
async function copyOfTemplate(service: string, url: URL): Promise<{ url: string; drop: () => Promise<void> }> {
  const template = new URL(required(`${service.toUpperCase()}_TEMPLATE_DATABASE_URL`));
  const name = url.pathname.slice(1);
  await onServer(url.toString(), (client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${template.pathname.slice(1)}"`));
  return { url: url.toString(), drop: async () => void (await onServer(url.toString(), (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))) };
}

/** Drops every database of the run (`startales_<service>_test_<run>…`): stacks' and suites' own ones a crash left behind too. */
export async function dropRunDatabases(serverUrl: string, run: string): Promise<void> {
  await onServer(serverUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname ~ $1", [`^startales_[a-z]+_test_${run}(_|$)`]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  });
}
