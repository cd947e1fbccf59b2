/**
 * prisma/migrate-all.mjs, which `npm start`, the tests and operators run: a database that
 * has applied exactly the committed migrations is left alone (no `prisma migrate deploy`,
 * seconds of schema-engine start-up); anything else goes to Prisma to apply or report.
 */
import pg from "pg";
import { required } from "../testkit/config";
import { migrateAll } from "../testkit/migrate-all";

const SERVICE = "identity";
const variable = `${SERVICE.toUpperCase()}_DATABASE_URL`;
const url = new URL(required(variable));
url.pathname = `${url.pathname}_migrations`;
const env = { [variable]: url.toString() };
const migrate = () => migrateAll(env, ["--service", SERVICE]);

async function sql(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

afterAll(() => migrateAll(env, ["--service", SERVICE, "--drop"]));

describe("migrating the databases", () => {
  it("creates and migrates a new database, then finds it up to date", async () => {
    expect(await migrate()).toContain(`db: ${SERVICE} created and migrated`);
    expect(await migrate()).toContain(`db: ${SERVICE} up to date`);
  });

  it("hands a database whose recorded migrations differ from the committed ones to Prisma", async () => {
    // An edited migration (its checksum differs): Prisma's deploy runs (and warns), nothing is skipped.
    await sql("UPDATE _prisma_migrations SET checksum = 'edited' WHERE migration_name = (SELECT max(migration_name) FROM _prisma_migrations)");
    expect(await migrate()).toContain(`db: ${SERVICE} migrated`);
    // A migration that failed half way: Prisma refuses to go on, and so does the command.
    await sql("UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = (SELECT max(migration_name) FROM _prisma_migrations)");
    await expect(migrate()).rejects.toThrow(/migrating identity failed[\s\S]*P3009|failed migrations/);
  });
});
