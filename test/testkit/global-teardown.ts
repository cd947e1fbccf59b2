import pg from "pg";

/** Drops the run's databases, so repeated runs leave nothing behind. */
export default async function globalTeardown(): Promise<void> {
  for (const service of (process.env.TEST_SERVICES ?? "").split(",").filter(Boolean)) {
    const url = new URL(process.env[`${service.toUpperCase()}_DATABASE_URL`] ?? "");
    const name = url.pathname.slice(1);
    url.pathname = "/postgres";
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await client.end();
    }
  }
}
