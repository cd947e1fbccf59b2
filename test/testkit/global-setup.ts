import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { ALERTMANAGER, CHROMIUM, CLICKHOUSE, DOCKER_COMPOSE, ESPEAK_NG, JQ, PG_PARTMAN, POCKETSPHINX, POCKETSPHINX_EN_US, PROMETHEUS, ensureDebianTools } from "./debian-packages";
import { migrateAll } from "./migrate-all";

const root = join(__dirname, "..", "..");

/**
 * Once per `jest` run: a fresh database per service (startales_<service>_test_<run>),
 * migrated with the real migrations, migrated templates of the simulation's and analytics'
 * for the stacks' own copies, and fresh secrets. Workers inherit them through env.
 * The Debian programs the browser, README and speech-to-text tests use are installed if missing.
 */
export default async function globalSetup(): Promise<void> {
  // Before any test's timeout runs: installing them on a fresh machine takes a while.
  ensureDebianTools([CHROMIUM, JQ, PROMETHEUS, ALERTMANAGER, CLICKHOUSE, PG_PARTMAN, POCKETSPHINX, POCKETSPHINX_EN_US, ESPEAK_NG, DOCKER_COMPOSE]);
  const run = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  const server = process.env.DATABASE_SERVER_URL ?? "postgresql://postgres@127.0.0.1:5432";
  const services = readdirSync(join(root, "subgraphs")).filter((s) => existsSync(join(root, "subgraphs", s, "prisma", "schema.prisma")));
  const env: Record<string, string> = {};
  for (const service of services) {
    const url = new URL(server);
    url.pathname = `/startales_${service}_test_${run}`;
    env[`${service.toUpperCase()}_DATABASE_URL`] = url.toString();
  }
  // The run's databases, and a template of each that stacks and suites copy their own from
  // (databases.ts): a copy takes a fraction of a second, migrating one took seconds of CPU.
  const templates: Record<string, string> = {};
  for (const service of services) {
    const template = new URL(env[`${service.toUpperCase()}_DATABASE_URL`]!);
    template.pathname = `${template.pathname}_template`;
    templates[`${service.toUpperCase()}_DATABASE_URL`] = template.toString();
    env[`${service.toUpperCase()}_TEMPLATE_DATABASE_URL`] = template.toString();
  }
  await Promise.all([migrateAll(env), migrateAll(templates)]);
  const { privateKey } = generateKeyPairSync("ed25519");
  Object.assign(process.env, env, {
    TEST_RUN_ID: run,
    TEST_GATEWAY_SIGNING_SECRET: randomBytes(48).toString("base64url"),
    TEST_JWT_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  });
}
