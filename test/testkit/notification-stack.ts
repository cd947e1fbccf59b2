import { randomUUID } from "node:crypto";
import pg from "pg";
import { required } from "./config";
import { postGraphQL, type GraphQLResponse } from "./graphql-client";
import { startStack, type Stack } from "./stack";
import { registerUser, type TestUser } from "./users";

export type NotificationStack = {
  stack: Stack;
  /** The gateway's GraphQL endpoint. */
  url: string;
  /** The notification database, read directly to check what the API does not show (deliveries, attempts). */
  db: pg.Client;
  /** A user who is ADMIN from registration on (BOOTSTRAP_ADMIN_EMAILS). */
  admin: TestUser;
  /** A GraphQL request through the gateway as `user`. */
  call: <T = Record<string, unknown>>(user: TestUser, query: string, variables?: Record<string, unknown>) => Promise<GraphQLResponse<T>>;
  stop: () => Promise<void>;
};

/**
 * A whole stack for the notification suites: `notificationEnv` switches on the channels the
 * suite's own fakes serve (FCM, web push, SMTP), with a bootstrap admin, a client of the
 * notification database and calls as a user. The fakes stay the suite's to start and stop.
 */
export async function startNotificationStack(notificationEnv: Record<string, string>, options: { identityEnv?: Record<string, string> } = {}): Promise<NotificationStack> {
  const adminEmail = `admin-${randomUUID()}@example.test`;
  const stack = await startStack({ logLevel: "warn", identityEnv: { BOOTSTRAP_ADMIN_EMAILS: adminEmail, ...options.identityEnv }, notificationEnv });
  const db = new pg.Client({ connectionString: required("NOTIFICATION_DATABASE_URL") });
  try {
    await db.connect();
    const url = stack.graphqlUrl;
    const admin = await registerUser(url, "Admin", undefined, adminEmail);
    return {
      stack,
      url,
      db,
      admin,
      call: (user, query, variables = {}) => postGraphQL(url, { query, variables }, { token: user.accessToken }),
      stop: async () => {
        await stack.stop();
        await db.end();
      },
    };
  } catch (error) {
    await stack.stop();
    await db.end().catch(() => undefined);
    throw error;
  }
}
