import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const root = join(__dirname, "..", "..");

/**
 * Runs prisma/migrate-all.mjs — the one place databases are created, migrated and dropped —
 * with these service database URLs (`<SERVICE>_DATABASE_URL`). It is ESM, so it runs as a
 * process, as `npm start` runs it. Resolves with what it printed.
 */
export async function migrateAll(env: Record<string, string | undefined>, args: string[] = []): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(root, "prisma", "migrate-all.mjs"), ...args], { env: { ...process.env, ...env } });
  return stdout;
}
