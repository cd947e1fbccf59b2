import { randomUUID } from "node:crypto";
import pg from "pg";
import { ACCOUNT_MAIL_PATH, createServiceCaller } from "@startales/service-kit";
import { required } from "./config";
import { expectData, postGraphQL } from "./graphql-client";

export type AccountMailAnswer = { kind: string; to: string; locale: string; displayName: string; userId: string; link: string | null; expiresAt: string | null };

/** Calls identity's service-only routes as a service would (notification's email channel). */
export const serviceCaller = () => createServiceCaller({ secret: required("TEST_GATEWAY_SIGNING_SECRET"), serviceId: randomUUID(), timeoutMs: 5_000 });

/** The ACCOUNT_MAIL_REQUESTED events identity wrote for a user, oldest first, as the outbox holds them. */
export async function mailRequests(databaseUrl: string, userId: string): Promise<{ topic: string; kind: string; mailId: string; version: number }[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ topic: string; data: { kind: string; mailId: string }; version: number }>(
      "SELECT topic, data, version FROM outbox_events WHERE aggregate_id = $1 AND type = 'ACCOUNT_MAIL_REQUESTED' ORDER BY occurred_at, id",
      [userId],
    );
    return rows.map((row) => ({ topic: row.topic, kind: row.data.kind, mailId: row.data.mailId, version: row.version }));
  } finally {
    await db.end();
  }
}

/** What identity's ACCOUNT_MAIL_PATH answers a service about a mail. */
export async function readAccountMail(identityUrl: string, mailId: string) {
  return serviceCaller().post<AccountMailAnswer>(`${identityUrl}${ACCOUNT_MAIL_PATH}`, { mailId });
}

/**
 * The token in the link of the user's latest mail of `kind`, read as the notification worker
 * pool reads it (the outbox event, then the service-only route): what the user would click.
 */
export async function latestMailToken(identityUrl: string, databaseUrl: string, userId: string, kind: string): Promise<string> {
  const mail = (await mailRequests(databaseUrl, userId)).filter((request) => request.kind === kind).at(-1);
  if (!mail) throw new Error(`no ${kind} mail for ${userId}`);
  const answer = await readAccountMail(identityUrl, mail.mailId);
  if (answer.status !== 200 || !answer.body?.link) throw new Error(`the ${kind} mail answered ${answer.status}`);
  return new URL(answer.body.link).searchParams.get("token")!;
}

/**
 * Verifies a user's address as they would: the link of their latest VERIFY_EMAIL mail (read
 * as the notification worker pool reads it), followed through verifyEmail at `graphqlUrl`
 * (identity's own with a gateway's `headers`, or the gateway's).
 */
export async function verifyAddress(options: { identityUrl: string; databaseUrl?: string; graphqlUrl: string; headers?: Record<string, string> }, userId: string): Promise<void> {
  const token = await latestMailToken(options.identityUrl, options.databaseUrl ?? required("IDENTITY_DATABASE_URL"), userId, "VERIFY_EMAIL");
  const response = await postGraphQL<{ verifyEmail: { id: string } }>(
    options.graphqlUrl,
    { query: "mutation($t: String!) { verifyEmail(token: $t) { id } }", variables: { t: token } },
    { headers: options.headers },
  );
  if (expectData(response).verifyEmail.id !== userId) throw new Error("verified another user's address");
}
