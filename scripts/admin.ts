/**
 * `npm run admin -- EMAIL`: gives an existing account the ADMIN role, for a first operator of
 * a local or fresh stack (there is no admin yet to call setUserRoles). It writes identity's
 * database directly: IDENTITY_DATABASE_URL, else the local stack's (startales_identity on
 * DATABASE_SERVER_URL, as `npm start` derives it), and records the change in identity's audit
 * log like setUserRoles does. Access tokens carry roles, so the account signs in again (or
 * refreshes) for a token that acts as an admin.
 *   npm run admin -- alice@example.com
 * Exit codes: 0 done (or already an admin), 1 no such account or no database, 2 usage.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { anonymous } from "@startales/service-kit";
import { createDb } from "../subgraphs/identity/src/db";
import { grantAdmin } from "../subgraphs/identity/src/domain/grant-admin";

async function identityDatabaseUrl(): Promise<string> {
  if (process.env.IDENTITY_DATABASE_URL) return process.env.IDENTITY_DATABASE_URL;
  // The rule npm start and npm run db:migrate use (an untyped .mjs module, hence the cast).
  const migrateAll = pathToFileURL(join(__dirname, "..", "prisma", "migrate-all.mjs")).href;
  const { databaseUrlFor } = (await import(migrateAll)) as { databaseUrlFor: (service: string) => string };
  return databaseUrlFor("identity");
}

/** The URL without its password, to say which database was used. */
function databaseName(url: string): string {
  const parsed = new URL(url);
  parsed.password = "";
  return `${parsed.host}${parsed.pathname}`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.length !== 1 || !args[0]!.includes("@")) {
    console.error("usage: npm run admin -- EMAIL   (gives that existing account the ADMIN role)");
    return 2;
  }
  const email = args[0]!;
  const url = await identityDatabaseUrl();
  const db = createDb(url, 1);
  try {
    // No request and no signed-in actor: the entry's actor is null, its request id this run's.
    const result = await grantAdmin(db, email, { viewer: anonymous, requestId: `admin-script-${randomUUID()}`, via: "npm run admin" });
    if (result.outcome === "no_account") {
      console.error(`No account with the email ${email} in ${databaseName(url)}: register it first (the register mutation), then run this again.`);
      return 1;
    }
    const { user } = result;
    if (result.outcome === "already") {
      console.log(`${user.email} (${user.displayName}, ${user.id}) already has ADMIN: roles ${result.to.join(", ")}. Nothing changed.`);
      return 0;
    }
    console.log(`${user.email} (${user.displayName}, ${user.id}): roles ${result.from.join(", ")} → ${result.to.join(", ")}, recorded in identity's audit log.`);
    console.log("Access tokens carry roles: sign in again (login) or refresh (refreshToken) for an access token with ADMIN.");
    return 0;
  } catch (error) {
    console.error(`Could not change ${databaseName(url)}: ${(error as Error).message.trim()}`);
    console.error("Is PostgreSQL up and the database migrated (npm start or npm run db:migrate)?");
    return 1;
  } finally {
    await db.$disconnect();
  }
}

main().then((code) => process.exit(code));
